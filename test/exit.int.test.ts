import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { runLoadgen } from "@vigil/cli";
import { EmbeddedEngine } from "@vigil/store";
import { startProcess } from "./support/processes.js";
import { demoWorkspace, serveDemo, storeEnv } from "./support/vigil.js";

const CYCLES = 8;

/**
 * A process that opened the embedded ClickHouse must stop when asked: libchdb's exit handlers
 * can deadlock if the process exits while a query still runs on one of its threads.
 */
describe("stopping a process that runs the embedded store", () => {
  const workspace = demoWorkspace("vigil-exit-");

  test(`vigil serve stopped with SIGTERM under load ${CYCLES} times on one data directory: each exits 0, and the log holds every acknowledged row`, {
    timeout: 600_000,
  }, async (ctx) => {
    const data = join(workspace.dir, "cycles");
    let acknowledged = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const stderr: string[] = [];
      const serve = await serveDemo(
        {
          ...process.env,
          ...storeEnv(data),
          VIGIL_MODEL_REPOSITORY: workspace.repository,
          VIGIL_METRICS_PORT: "off",
          VIGIL_LOG_LEVEL: "info",
        },
        { owner: ctx, stderr: (line) => stderr.push(line) },
      );
      const load = runLoadgen({ target: serve.address, model: "flights", rate: 300, concurrency: 8, requests: 0, durationMs: 1500 + 250 * cycle, batch: 1 });
      await new Promise((resolve) => setTimeout(resolve, 600 + 125 * cycle));
      const code = await serve.stop("SIGTERM", 60_000);
      const summary = await load;
      acknowledged += summary.ok;
      assert.equal(code, 0, `cycle ${cycle}: exit status 0 (stderr: ${stderr.join(" | ")})`);
      assert.ok(!stderr.some((l) => l.includes("hung in its teardown")), `cycle ${cycle}: the exit watchdog was not needed`);
    }
    const engine = new EmbeddedEngine(join(data, "data"));
    try {
      const [row] = await engine.query<{ ok: string }>("SELECT countIf(status = 'OK') AS ok FROM predictions WHERE startsWith(request_id, {prefix:String})", {
        prefix: `loadgen-${process.pid}-`,
      });
      ctx.diagnostic(`${CYCLES} stops under load; ${acknowledged} acknowledged, ${row!.ok} logged`);
      assert.ok(acknowledged > CYCLES * 100, `load reached the server in every cycle (${acknowledged})`);
      assert.equal(Number(row!.ok), acknowledged);
      const mode = async (path: string) => (await stat(path)).mode & 0o777;
      assert.deepEqual(
        [await mode(join(data, "data")), await mode(join(data, "spool", "predictions"))],
        [0o700, 0o700],
        "the prediction log is private to its owner",
      );
    } finally {
      await engine.close();
    }
  });

  test("a process whose exit hangs after its store is closed is killed by the exit watchdog, saying why", { timeout: 60_000 }, async (ctx) => {
    const started = Date.now();
    const hanging = startProcess(process.execPath, ["--import", "tsx", join(import.meta.dirname, "support", "hang-on-exit.ts"), join(workspace.dir, "hang")], {
      stdio: ["ignore", "pipe", "pipe"],
      owner: ctx,
    });
    const stdout: string[] = [];
    const stderr: string[] = [];
    createInterface({ input: hanging.child.stdout! }).on("line", (line) => stdout.push(line));
    createInterface({ input: hanging.child.stderr! }).on("line", (line) => stderr.push(line));
    await hanging.exited;
    const elapsedMs = Date.now() - started;
    ctx.diagnostic(`ended by ${hanging.child.signalCode} after ${elapsedMs} ms`);
    assert.deepEqual(stdout, ["closed"], "the store was written and closed before the exit");
    assert.equal(hanging.child.signalCode, "SIGKILL");
    assert.ok(
      stderr.some((l) => l.includes("the embedded ClickHouse (chDB) hung in its teardown")),
      stderr.join("\n"),
    );
  });
});

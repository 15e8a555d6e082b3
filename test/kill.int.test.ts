import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { runLoadgen } from "@vigil/cli";
import { EmbeddedEngine } from "@vigil/store";
import type { ProcessOwner } from "./support/processes.js";
import { demoWorkspace, serveDemo, storeEnv } from "./support/vigil.js";

const RATE = 400;
/** The writer's maxBatchAgeMs default: a row waits at most this long in memory before its insert. */
const BATCH_AGE_MS = 1000;

/**
 * `vigil serve` as its own process on the embedded store, killed under load and started again
 * on the same data: what was acknowledged is counted against what the prediction log holds.
 */
describe("server killed under load", () => {
  const workspace = demoWorkspace("vigil-kill-");

  /** Starts `vigil serve` on a data directory; resolves once it serves the demo model. */
  const serve = (data: string, owner: ProcessOwner) =>
    serveDemo(
      {
        ...process.env,
        ...storeEnv(data),
        VIGIL_MODEL_REPOSITORY: workspace.repository,
        VIGIL_METRICS_PORT: "off",
        VIGIL_LOG_LEVEL: "info",
        VIGIL_TRACING: "false",
      },
      { owner },
    );

  /** Rows per request id prefix and status in a stopped server's data directory. */
  async function logged(data: string, prefix: string): Promise<{ ok: number; duplicates: number }> {
    const engine = new EmbeddedEngine(join(data, "data"));
    try {
      const [row] = await engine.query<{ ok: string | number; duplicates: string | number }>(
        `SELECT countIf(status = 'OK') AS ok, count() - uniqExact(request_id, row_index) AS duplicates FROM predictions WHERE startsWith(request_id, {prefix:String})`,
        { prefix },
      );
      return { ok: Number(row!.ok), duplicates: Number(row!.duplicates) };
    } finally {
      await engine.close();
    }
  }

  /** Steady load for `ms`, with `kill` sent to the server half way. */
  async function loadAndKill(address: string, child: ChildProcess, signal: NodeJS.Signals, ms: number) {
    const load = runLoadgen({ target: address, model: "flights", rate: RATE, concurrency: 16, requests: 0, durationMs: ms, batch: 1 });
    await new Promise((r) => setTimeout(r, ms / 2));
    child.kill(signal);
    return load;
  }

  test("SIGTERM under load, restarted: every acknowledged prediction is in the log, once", { timeout: 180_000 }, async (ctx) => {
    const data = join(workspace.dir, "term");
    const first = await serve(data, ctx);
    const summary = await loadAndKill(first.address, first.child, "SIGTERM", 4000);
    assert.equal(await first.exited, 0, "a graceful stop");
    assert.ok(!first.logs.some((l) => l.msg === "monitor API listening"), "--api-port off starts no API");
    const second = await serve(data, ctx);
    second.child.kill("SIGTERM");
    await second.exited;
    const prefix = `loadgen-${process.pid}-`;
    const { ok, duplicates } = await logged(data, prefix);
    ctx.diagnostic(`acknowledged ${summary.ok}, refused or cut ${summary.failed}; logged OK ${ok}, duplicates ${duplicates}`);
    assert.ok(summary.ok > 100, `load was served before the stop (${summary.ok})`);
    assert.equal(ok, summary.ok, "0 acknowledged predictions missing");
    assert.equal(duplicates, 0);
  });

  /**
   * A request is acknowledged once its row is in the writer's memory queue; rows are written in
   * batches at most BATCH_AGE_MS old, or spooled when ClickHouse refuses them. SIGKILL loses the
   * queue (rows younger than one batch age) and the insert in flight (one more batch age at most),
   * so at most two batch ages of traffic, never a row twice; what was spooled at the kill is
   * replayed by the next start.
   */
  test("SIGKILL under load: the loss is bounded by the batch age, nothing is duplicated, a restart replays the spool", { timeout: 180_000 }, async (ctx) => {
    const data = join(workspace.dir, "kill");
    const spoolFiles = () =>
      readdir(join(data, "spool", "predictions")).then(
        (f) => f.filter((n) => n.endsWith(".batch") || n.endsWith(".jsonl")).length,
        () => 0,
      );
    const first = await serve(data, ctx);
    const summary = await loadAndKill(first.address, first.child, "SIGKILL", 12_000);
    await first.exited;
    const spooledAtKill = await spoolFiles();
    const second = await serve(data, ctx);
    second.child.kill("SIGTERM");
    assert.equal(await second.exited, 0);
    const { ok, duplicates } = await logged(data, `loadgen-${process.pid}-`);
    const lost = summary.ok - ok;
    const bound = (RATE * 2 * BATCH_AGE_MS) / 1000;
    ctx.diagnostic(
      `acknowledged ${summary.ok}; logged OK ${ok}; lost ${lost} (bound ${bound}); spool files at the kill ${spooledAtKill}, after the restart ${await spoolFiles()}; duplicates ${duplicates}`,
    );
    assert.ok(summary.ok > 2 * bound, `the load acknowledged well over the bound before the kill (${summary.ok})`);
    assert.ok(lost >= 0, "nothing logged that was not answered");
    assert.ok(lost <= bound, `at most two batch ages of traffic at ${RATE} requests/s is lost: ${lost} of ${summary.ok}`);
    assert.equal(duplicates, 0, "replays never double-count");
    assert.equal(await spoolFiles(), 0, "the restart replayed whatever was spooled");
  });
});

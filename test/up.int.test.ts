import assert from "node:assert/strict";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { freePort } from "./support/ports.js";
import { type StartedProcess, startProcess } from "./support/processes.js";
import { eventually, tempDir } from "./support/store.js";
import { VIGIL_MAIN, storeEnv } from "./support/vigil.js";

const ROOT = join(import.meta.dirname, "..");

/** The README's first command, as a newcomer runs it (on free ports and a fresh data directory). */
describe("vigil up: the whole stack in one command", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let up: StartedProcess;
  const lines: string[] = [];
  let apiUrl = "";
  let token = "";
  let dashboardUrl = "";

  before(async () => {
    dirs = await tempDir("vigil-up-");
    const dashboardPort = await freePort();
    up = startProcess(
      process.execPath,
      ["--import", "tsx", VIGIL_MAIN, "up", "--port", "0", "--api-port", "0", "--dashboard-port", String(dashboardPort), "--rate", "40", "--window", "20s"],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ...storeEnv(dirs.path),
          VIGIL_METRICS_PORT: "0",
          VIGIL_API_TOKENS: "",
          VIGIL_DASHBOARD_PASSWORD: "",
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    createInterface({ input: up.child.stdout! }).on("line", (line) => lines.push(line));
    await eventually(async () => lines.some((l) => l.startsWith("Press Ctrl-C")), Boolean, "vigil up to start", 90_000);
    const api = /monitor API: (http:\/\/\S+)\/api\/v1 .*token (\S+)$/.exec(lines.find((l) => l.includes("monitor API:"))!)!;
    [, apiUrl, token] = api as unknown as [string, string, string];
    dashboardUrl = /dashboard: (http:\/\/\S+) \(password (\S+)\)/.exec(lines.find((l) => l.includes("dashboard:"))!)![1]!;
  });

  after(async () => {
    await up.stop("SIGKILL");
    await dirs.remove();
  });

  test("prints every URL with its credentials; the API sees the demo traffic; the dashboard wants a login", { timeout: 120_000 }, async () => {
    for (const what of [
      "gRPC (Open Inference Protocol v2): 127.0.0.1:",
      "Prometheus metrics: http://127.0.0.1:",
      "monitor: quality and drift every 20s",
      "alerting: rules and SLOs",
      "demo traffic: held-out March 2001 flights at 40 requests/s",
    ]) {
      assert.ok(
        lines.some((l) => l.includes(what)),
        `prints "${what}"`,
      );
    }
    assert.equal((await fetch(`${apiUrl}/api/v1/overview`)).status, 401, "the generated API token is required");
    const overview = await eventually(
      async () =>
        (await (await fetch(`${apiUrl}/api/v1/overview?from=-10m`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
          totals: { requests: number };
        },
      (o) => o.totals.requests >= 40,
      "demo traffic in the rollups",
    );
    assert.ok(overview.totals.requests >= 40);
    assert.equal((await fetch(`${dashboardUrl}/login`)).status, 200);
    const home = await fetch(`${dashboardUrl}/`, { redirect: "manual" });
    assert.deepEqual([home.status, home.headers.get("location")], [307, "/login"]);
  });

  test("Ctrl-C stops everything cleanly and prints the traffic summary", { timeout: 60_000 }, async () => {
    const code = await up.stop("SIGINT");
    assert.equal(code, 0);
    assert.ok(
      lines.some((l) => /^requests {2}\d+ \(\d+ ok, 0 failed: none\)/.test(l)),
      "the summary",
    );
    assert.equal(
      await fetch(`${dashboardUrl}/login`).then(
        () => "up",
        () => "down",
      ),
      "down",
      "the dashboard went with it",
    );
  });
});

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runLoadgen } from "@vigil/cli";
import { EmbeddedEngine } from "@vigil/store";
import { type ClickHouseHttp, startClickHouseHttp } from "./support/clickhouse-http.js";
import { addDemoModel, tempRepository } from "./support/models.js";
import { freePort } from "./support/ports.js";
import { duplicatedPredictions } from "./support/queries.js";
import { countRows, openTestStore } from "./support/recording.js";
import { startTestServer } from "./support/server.js";
import { eventually, tempDir } from "./support/store.js";
import { spawnVigil, storeEnv } from "./support/vigil.js";

const STORAGE_DOWN_MS = 60_000;
const RECEIVER_DOWN_MS = 120_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Outages that last minutes, not seconds. The two tests mostly wait, so they run side by side.
 */
describe("long outages", { concurrency: true }, () => {
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let dirs: Awaited<ReturnType<typeof tempDir>>;

  before(async () => {
    repo = await tempRepository();
    await addDemoModel(repo.path);
    dirs = await tempDir("vigil-outages-");
  });
  after(async () => {
    await repo.remove();
    await dirs.remove();
  });

  test("ClickHouse down for 60 s under steady load, then back: 0 acknowledged predictions missing, 0 duplicated", { timeout: 300_000 }, async (ctx) => {
    const dataDir = join(dirs.path, "clickhouse");
    let clickhouse: ClickHouseHttp = await startClickHouseHttp(dataDir, { owner: ctx });
    const store = await openTestStore({ dataDir: "", spoolDir: join(dirs.path, "spool"), clickhouseUrl: clickhouse.url });
    await store.ready();
    const t = await startTestServer({ model_repository: repo.path, log_level: "warn" }, store);
    try {
      const load = runLoadgen({ target: t.address, model: "flights", rate: 100, concurrency: 4, requests: 0, durationMs: STORAGE_DOWN_MS + 10_000, batch: 1 });
      await sleep(3000);
      await clickhouse.kill();
      const downAt = Date.now();
      let maxSpooled = 0;
      while (Date.now() - downAt < STORAGE_DOWN_MS) {
        await sleep(1000);
        const stats = store.predictions.stats();
        assert.equal(stats.engineAvailable, false, "the writer knows ClickHouse is down");
        maxSpooled = Math.max(maxSpooled, stats.spoolBatches);
      }
      clickhouse = await startClickHouseHttp(dataDir, { owner: ctx, port: clickhouse.port });
      const summary = await load;
      await eventually(
        async () => store.predictions.stats(),
        (s) => s.spoolBatches === 0 && s.memoryRows === 0 && s.engineAvailable,
        "the writer to drain its spool",
        120_000,
      );
      const logged = await countRows(store.engine, "model_name = 'flights'");
      ctx.diagnostic(`sent ${summary.sent}, answered ${summary.ok}, failed ${summary.failed}; spool held up to ${maxSpooled} batches; logged ${logged}`);
      assert.equal(summary.failed, 0, "serving went on through the outage");
      assert.ok(maxSpooled > 100, `the outage was spooled (${maxSpooled} batches at most)`);
      assert.equal(logged, summary.ok, "every acknowledged prediction is in ClickHouse");
      assert.equal(await duplicatedPredictions(store.engine), 0);
    } finally {
      await t.stop();
      await store.close();
      await clickhouse.stop();
    }
  });

  test("a webhook receiver down for two minutes gets the alert once it is back, once", { timeout: 420_000 }, async (ctx) => {
    const hookPort = await freePort();
    const work = join(dirs.path, "webhook");
    const alertingFile = join(dirs.path, "alerting.yaml");
    await writeFile(
      alertingFile,
      [
        "evaluation_interval: 1s",
        `outbox_dir: ${join(work, "outbox")}`,
        "rules:",
        "  - name: TrafficSeen",
        "    metric: throughput_rps",
        '    op: ">"',
        "    threshold: 0",
        "    range: 1m",
        "    severity: info",
        "receivers:",
        "  - name: pager",
        "    webhook:",
        `      url: http://127.0.0.1:${hookPort}/hook`,
        "      timeout: 2s",
        "      max_backoff: 10s",
        "route:",
        "  receiver: pager",
        "  group_wait: 0s",
        "",
      ].join("\n"),
    );
    const { child, logs, exited } = spawnVigil(
      ["serve", "--port", "0", "--no-monitor", "--api-port", "off", "--alerting-config", alertingFile],
      {
        ...process.env,
        ...storeEnv(work),
        VIGIL_MODEL_REPOSITORY: repo.path,
        VIGIL_GRPC_HOST: "127.0.0.1",
        VIGIL_METRICS_PORT: "0",
        VIGIL_LOG_LEVEL: "info",
      },
      { owner: ctx },
    );
    const received: Array<{ delivery: string; body: { status: string; alerts: Array<{ labels: Record<string, string> }> } }> = [];
    let hook: Server | undefined;
    const abort = new AbortController();
    try {
      const address = (await eventually(async () => logs.find((l) => l.msg === "gRPC server listening"), Boolean, "the server to listen", 60_000))!
        .address as string;
      const metricsUrl = (await eventually(async () => logs.find((l) => l.msg === "Prometheus metrics endpoint listening"), Boolean, "the metrics endpoint"))!
        .url as string;
      const pending = async () => Number(/^vigil_notifications_pending (\S+)$/m.exec(await (await fetch(metricsUrl)).text())?.[1] ?? 0);
      const traffic = runLoadgen({ target: address, model: "flights", rate: 20, concurrency: 2, requests: 0, durationMs: 0, batch: 1, signal: abort.signal });

      // The rule fires once a whole minute with traffic has passed; its notification then fails against the closed port.
      await eventually(pending, (n) => n >= 1, "a notification waiting for the receiver", 150_000);
      const firstFailureAt = Date.now();
      await sleep(RECEIVER_DOWN_MS);
      assert.equal(await pending(), 1, "still pending after two minutes of refused connections");
      hook = await new Promise<Server>((resolve) => {
        const server = createServer((req, res) => {
          const chunks: Buffer[] = [];
          req
            .on("data", (c: Buffer) => chunks.push(c))
            .on("end", () => {
              received.push({
                delivery: String(req.headers["x-vigil-delivery"]),
                body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as (typeof received)[number]["body"],
              });
              res.writeHead(200).end();
            });
        }).listen(hookPort, "127.0.0.1", () => resolve(server));
      });
      const backAt = Date.now();
      await eventually(
        async () => received.length,
        (n) => n >= 1,
        "the delivery after the receiver came back",
        30_000,
      );
      const deliveredAfterMs = Date.now() - backAt;
      await sleep(15_000);
      assert.equal(await pending(), 0, "nothing left in the outbox");
      abort.abort();
      await traffic;
      child.kill("SIGTERM");
      assert.equal(await exited, 0);

      assert.equal(received.length, 1, "delivered once");
      assert.equal(received[0]!.body.status, "firing");
      assert.equal(received[0]!.body.alerts[0]!.labels.alertname, "TrafficSeen");
      const engine = new EmbeddedEngine(join(work, "data"));
      try {
        const attempts = await engine.query<{ outcome: string; n: string }>(
          "SELECT outcome, count() AS n FROM notifications WHERE delivery_id = {id:String} GROUP BY outcome ORDER BY outcome",
          { id: received[0]!.delivery },
        );
        const byOutcome = Object.fromEntries(attempts.map((a) => [a.outcome, Number(a.n)]));
        ctx.diagnostic(
          `receiver down ${((backAt - firstFailureAt) / 1000).toFixed(0)} s after the first failed attempt; ${byOutcome.failed} failed attempts; delivered ${(deliveredAfterMs / 1000).toFixed(1)} s after it came back`,
        );
        assert.equal(byOutcome.delivered, 1, "one delivered attempt recorded");
        assert.ok(byOutcome.failed! >= 8, `retried while the receiver was down (${byOutcome.failed} failed attempts, at most 10 s apart)`);
      } finally {
        await engine.close();
      }
    } finally {
      abort.abort();
      await new Promise<void>((resolve) => (hook ? hook.close(() => resolve()) : resolve()));
    }
  });
});

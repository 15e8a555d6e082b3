import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { runLoadgen } from "@vigil/cli";
import { type Store, duplicatedPredictions } from "@vigil/store";
import { type ClickHouseHttp, startClickHouseHttp } from "./support/clickhouse-http.js";
import { unary } from "./support/grpc.js";
import { addDemoModel, tempRepository } from "./support/models.js";
import { countRows, openTestStore } from "./support/recording.js";
import { FLIGHT_ROWS, contentsRequest } from "./support/requests.js";
import { startTestServer } from "./support/server.js";
import { eventually, tempDir } from "./support/store.js";

/**
 * Server mode (@clickhouse/client over HTTP) against a ClickHouse process that really goes away:
 * killed, then started again on the same port and data. Counts are compared exactly.
 */
describe("no acknowledged prediction is lost", () => {
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let clickhouse: ClickHouseHttp;
  let port: number;
  const dataDir = () => join(dirs.path, "clickhouse");
  const restartClickHouse = async () => {
    clickhouse = await startClickHouseHttp(dataDir(), port);
  };
  const drained = (store: Store) =>
    eventually(async () => store.predictions.stats(), (s) => s.spoolBatches === 0 && s.memoryRows === 0 && s.engineAvailable, "the writer to drain its spool");

  before(async () => {
    repo = await tempRepository();
    await addDemoModel(repo.path);
    dirs = await tempDir("vigil-noloss-");
    clickhouse = await startClickHouseHttp(dataDir());
    port = clickhouse.port;
  });
  after(async () => {
    await clickhouse.stop();
    await repo.remove();
    await dirs.remove();
  });

  test("ClickHouse down for a stretch under steady load, then back: every request logged once", { timeout: 120_000 }, async () => {
    const store = await openTestStore({ dataDir: "", spoolDir: join(dirs.path, "spool-outage"), clickhouseUrl: clickhouse.url });
    await store.ready();
    const t = await startTestServer({ model_repository: repo.path, log_level: "warn" }, store);
    try {
      const load = runLoadgen({ target: t.address, model: "flights", rate: 150, concurrency: 4, requests: 0, durationMs: 4000, batch: 1 });
      await new Promise((r) => setTimeout(r, 1000));
      await clickhouse.kill();
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(store.predictions.stats().engineAvailable, false, "the writer noticed the outage");
      assert.ok(store.predictions.stats().spoolBatches > 0, "batches went to the spool");
      await restartClickHouse();
      const summary = await load;
      assert.equal(summary.failed, 0, "serving continued through the outage");
      await drained(store);
      assert.equal(await countRows(store.engine, "model_name = 'flights'"), summary.sent);
      assert.equal(await duplicatedPredictions(store.engine), 0);
    } finally {
      await t.stop();
      await store.close();
    }
  });

  test("stopped gracefully with rows queued while ClickHouse is down; the next start replays them", { timeout: 120_000 }, async () => {
    const spoolDir = join(dirs.path, "spool-restart");
    const first = await openTestStore({ dataDir: "", spoolDir, clickhouseUrl: clickhouse.url }, { maxBatchAgeMs: 60_000, maxBatchRows: 100_000 });
    await first.ready();
    const before = await countRows(first.engine, "request_id LIKE 'restart-%'");
    const t = await startTestServer({ model_repository: repo.path, log_level: "warn" }, first);
    await clickhouse.kill();
    for (let i = 0; i < 50; i++) {
      await unary(t.client.modelInfer, t.client, contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: FLIGHT_ROWS[i % 4]! } }], { id: `restart-${i}` }));
    }
    await t.stop();
    await first.close();
    await restartClickHouse();
    const second = await openTestStore({ dataDir: "", spoolDir, clickhouseUrl: clickhouse.url });
    try {
      await second.ready();
      await drained(second);
      assert.equal(before, 0);
      assert.equal(await countRows(second.engine, "request_id LIKE 'restart-%'"), 50);
      assert.equal(await duplicatedPredictions(second.engine), 0);
    } finally {
      await second.close();
    }
  });

  test("when memory and spool are full, requests are refused, not answered unlogged", { timeout: 120_000 }, async () => {
    const store = await openTestStore(
      { dataDir: "", spoolDir: join(dirs.path, "spool-full"), clickhouseUrl: clickhouse.url },
      { maxBatchRows: 2, maxMemoryRows: 4, spoolBudgetBytes: 4000, maxBatchAgeMs: 10 },
    );
    await store.ready();
    const t = await startTestServer({ model_repository: repo.path, log_level: "warn", record_wait_ms: 200 }, store);
    try {
      await clickhouse.kill();
      const answered: string[] = [];
      const refused: string[] = [];
      for (let i = 0; i < 40; i++) {
        const id = `full-${i}`;
        await unary(t.client.modelInfer, t.client, contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: FLIGHT_ROWS[i % 4]! } }], { id })).then(
          () => answered.push(id),
          (e: { code: number; details: string }) => {
            assert.equal(e.code, status.UNAVAILABLE);
            assert.match(e.details, /predictions log is full .*the request was not answered so that every answered request stays logged/);
            refused.push(id);
          },
        );
      }
      assert.ok(answered.length > 0 && refused.length > 0, `some answered (${answered.length}), some refused (${refused.length})`);
      assert.ok(store.predictions.stats().backpressure, "the writer reports backpressure");
      await restartClickHouse();
      await drained(store);
      const logged = await store.engine.query<{ request_id: string }>("SELECT request_id FROM predictions WHERE request_id LIKE 'full-%' AND status = 'OK' ORDER BY toUInt32(substring(request_id, 6))");
      assert.deepEqual(logged.map((r) => r.request_id), answered, "exactly the answered requests are logged");
    } finally {
      await t.stop();
      await store.close();
    }
  });
});

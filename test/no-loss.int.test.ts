import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import type { Store } from "@vigil/store";
import { type ClickHouseHttp, startClickHouseHttp } from "./support/clickhouse-http.js";
import { unary } from "./support/grpc.js";
import { addDemoModel, tempRepository } from "./support/models.js";
import { duplicatedPredictions } from "./support/queries.js";
import { capturingLog, countRows, openTestStore } from "./support/recording.js";
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
    clickhouse = await startClickHouseHttp(dataDir(), { port });
  };
  const drained = (store: Store) =>
    eventually(
      async () => store.predictions.stats(),
      (s) => s.spoolBatches === 0 && s.memoryRows === 0 && s.engineAvailable,
      "the writer to drain its spool",
    );

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

  test("stopped gracefully with rows queued while ClickHouse is down; the next start replays them", { timeout: 120_000 }, async () => {
    const spoolDir = join(dirs.path, "spool-restart");
    const first = await openTestStore({ dataDir: "", spoolDir, clickhouseUrl: clickhouse.url }, { maxBatchAgeMs: 60_000, maxBatchRows: 100_000 });
    await first.ready();
    const before = await countRows(first.engine, "request_id LIKE 'restart-%'");
    const t = await startTestServer({ model_repository: repo.path, log_level: "warn" }, first);
    await clickhouse.kill();
    for (let i = 0; i < 50; i++) {
      await unary(
        t.client.modelInfer,
        t.client,
        contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: FLIGHT_ROWS[i % 4]! } }], {
          id: `restart-${i}`,
        }),
      );
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
        await unary(
          t.client.modelInfer,
          t.client,
          contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: FLIGHT_ROWS[i % 4]! } }], { id }),
        ).then(
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
      const logged = await store.engine.query<{ request_id: string }>(
        "SELECT request_id FROM predictions WHERE request_id LIKE 'full-%' AND status = 'OK' ORDER BY toUInt32(substring(request_id, 6))",
      );
      assert.deepEqual(
        logged.map((r) => r.request_id),
        answered,
        "exactly the answered requests are logged",
      );
    } finally {
      await t.stop();
      await store.close();
    }
  });

  /**
   * A real full disk: the spool lives on an 8 MiB tmpfs, mostly taken by a filler file. With
   * ClickHouse down, batches spill to the spool until a write fails with ENOSPC; the failed batch
   * stays in memory, memory fills, and requests are refused. Freeing the filler lets the spool
   * take the held batches and requests are answered again; when ClickHouse returns, exactly the
   * answered requests are in the log.
   */
  test("the spool's disk fills up while ClickHouse is down: a loud error, requests refused, none answered unlogged; recovery when space returns", {
    timeout: 120_000,
  }, async () => {
    const disk = join(dirs.path, "small-disk");
    await mkdir(disk);
    await promisify(execFile)("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", disk]).catch((error: Error) => {
      throw new Error(`this test mounts an 8 MiB tmpfs to fill a real disk; it needs root with CAP_SYS_ADMIN: ${error.message}`);
    });
    const logs: Array<Record<string, unknown>> = [];
    const store = await openTestStore(
      { dataDir: "", spoolDir: join(disk, "spool"), clickhouseUrl: clickhouse.url, log: capturingLog(logs) },
      { maxBatchRows: 20, maxMemoryRows: 200, maxBatchAgeMs: 10 },
    );
    const t = await startTestServer({ model_repository: repo.path, log_level: "warn", record_wait_ms: 200 }, store);
    try {
      await store.ready();
      await writeFile(join(disk, "filler"), Buffer.alloc(8 * 1024 * 1024 - 96 * 1024));
      await clickhouse.kill();
      const answered: string[] = [];
      const send = async (id: string) =>
        unary(
          t.client.modelInfer,
          t.client,
          contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: FLIGHT_ROWS[answered.length % 4]! } }], {
            id,
          }),
        ).then(
          () => {
            answered.push(id);
            return "answered";
          },
          (e: { code: number; details: string }) => {
            assert.equal(e.code, status.UNAVAILABLE);
            assert.match(e.details, /predictions log is full/);
            return "refused";
          },
        );
      let refused = 0;
      for (let i = 0; i < 2000 && refused < 20; i++) if ((await send(`disk-${i}`)) === "refused") refused++;
      assert.equal(refused, 20, `requests were refused once the disk was full (answered ${answered.length})`);
      const full = store.predictions.stats();
      assert.deepEqual([full.spoolWritable, full.backpressure], [false, true], "the writer reports the unwritable spool and backpressure");
      assert.ok(full.spoolBatches > 0, "the spool took batches until the disk filled");
      assert.ok(
        logs.some((l) => l.level === 50 && /cannot write the spool for predictions .*ENOSPC/.test(String(l.msg))),
        "a loud error names the spool and ENOSPC",
      );
      assert.ok(
        logs.some((l) => l.level === 50 && /writer for predictions is full .*spool cannot be written/.test(String(l.msg))),
        "and the backpressure",
      );

      await rm(join(disk, "filler"));
      await eventually(
        async () => store.predictions.stats(),
        (s) => s.spoolWritable && s.memoryRows < 200,
        "the held batches to reach the freed disk",
      );
      for (let i = 0; i < 20; i++) assert.equal(await send(`disk-after-${i}`), "answered", "requests are answered again while ClickHouse is still down");
      assert.ok(logs.some((l) => /the spool for predictions is writable again/.test(String(l.msg))));

      await restartClickHouse();
      await drained(store);
      const logged = await store.engine.query<{ request_id: string }>(
        "SELECT request_id FROM predictions WHERE startsWith(request_id, 'disk-') AND status = 'OK'",
      );
      assert.deepEqual(logged.map((r) => r.request_id).sort(), [...answered].sort(), "exactly the answered requests are logged");
      assert.equal(await duplicatedPredictions(store.engine), 0);
    } finally {
      await t.stop();
      await store.close();
      await promisify(execFile)("umount", ["-l", disk]);
    }
  });
});

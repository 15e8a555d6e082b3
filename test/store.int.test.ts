import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  BatchedWriter,
  EmbeddedEngine,
  type LabelRecord,
  type PredictionRecord,
  ServerEngine,
  type StoreEngine,
  StoreQueryError,
  type RolloutEvent,
  formatDateTime64,
  getPrediction,
  labelRow,
  listRolloutEvents,
  migrate,
  okPredictionsOfModel,
  predictionRow,
  readMigrations,
  saveRolloutEvent,
} from "@vigil/store";
import { type ClickHouseHttp, startClickHouseHttp } from "./support/clickhouse-http.js";
import { openTestStore } from "./support/recording.js";
import { duplicatedPredictions, labelledPredictions, predictionCounts } from "./support/queries.js";
import { FIXTURE_START_US, eventually, predictionRecord, quietLog, tempDir } from "./support/store.js";

const TABLES = [
  "alerts",
  "labels",
  "monitor_lease",
  "monitor_results",
  "notifications",
  "otel_traces",
  "otel_traces_trace_id_ts",
  "predictions",
  "predictions_per_minute",
  "reconstruction_fits",
  "reference_calibrations",
  "reference_profiles",
  "requests_per_minute",
  "rollout_events",
  "schema_migrations",
  "silences",
];

async function total(engine: StoreEngine, table: string, filter = "1"): Promise<number> {
  const [row] = await engine.query<{ n: string }>(`SELECT count() AS n FROM ${table} WHERE ${filter}`);
  return Number(row!.n);
}

/** The same checks on both engines: the embedded one, and a ClickHouse HTTP server through @clickhouse/client. */
function storeSuite(name: string, open: () => Promise<{ engine: StoreEngine; close: () => Promise<void> }>) {
  describe(`store on ${name}`, () => {
    let engine: StoreEngine;
    let close: () => Promise<void>;
    let spool: Awaited<ReturnType<typeof tempDir>>;
    let table = 0;

    before(async () => {
      ({ engine, close } = await open());
      spool = await tempDir("vigil-spool-");
      await migrate(engine);
    });
    after(async () => {
      await close();
      await spool.remove();
    });

    const writer = <T>(tableName: string, encode: (r: T) => Record<string, unknown>, extra: object = {}) =>
      BatchedWriter.open<T>({ engine, table: tableName, encode, spoolDir: `${spool.path}/${tableName}-${table++}`, log: quietLog, ...extra });

    test("migrations create every table, are recorded once, and are idempotent", async () => {
      assert.deepEqual(await migrate(engine), [], "a second run applies nothing");
      const tables = await engine.query<{ name: string }>(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND name NOT LIKE '.inner%' AND engine != 'MaterializedView' ORDER BY name",
      );
      assert.deepEqual(
        tables.map((t) => t.name),
        TABLES,
      );
      const recorded = await engine.query<{ version: number }>("SELECT version FROM schema_migrations FINAL ORDER BY version");
      assert.deepEqual(
        recorded.map((r) => Number(r.version)),
        (await readMigrations()).map((m) => m.version),
      );
      const traces = await engine.query<{ name: string; type: string }>(
        "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'otel_traces' ORDER BY position",
      );
      assert.deepEqual(traces.slice(0, 3), [
        { name: "Timestamp", type: "DateTime64(9)" },
        { name: "TraceId", type: "String" },
        { name: "SpanId", type: "String" },
      ]);
      assert.ok(traces.some((c) => c.name === "Events.Timestamp" && c.type === "Array(DateTime64(9))"));
    });

    test("bound parameters carry values, including arrays and strings that look like SQL", async () => {
      const [row] = await engine.query<{ a: number[]; s: string; n: number }>("SELECT {a:Array(Float64)} AS a, {s:String} AS s, {n:UInt32} + 1 AS n", {
        a: [1.5, -2],
        s: "x'); DROP TABLE predictions; --",
        n: 41,
      });
      assert.deepEqual(row, { a: [1.5, -2], s: "x'); DROP TABLE predictions; --", n: 42 });
      assert.equal(await total(engine, "system.tables", "name = 'predictions'"), 1);
    });

    test("a statement ClickHouse rejects is a StoreQueryError with its code", async () => {
      await assert.rejects(engine.query("SELECT * FROM no_such_table"), (e: StoreQueryError) => e instanceof StoreQueryError && e.clickhouseCode === 60);
    });

    test("the writer lands every record once, with rollups, NaN and exact values", async () => {
      const before = await total(engine, "predictions", "model_name = 'writer-test'");
      const w = await writer<PredictionRecord>("predictions", predictionRow, { maxBatchRows: 1000 });
      w.start();
      for (let i = 0; i < 2500; i++)
        await w.append(predictionRecord(i, { modelName: "writer-test", requestId: `w-${i}`, features: i === 7 ? [Number.NaN, Infinity, 1] : [i] }));
      await w.flush();
      await w.close();
      assert.equal((await total(engine, "predictions", "model_name = 'writer-test'")) - before, 2500);
      assert.equal(w.stats().insertedBatches, 3);
      const [rollup] = await engine.query<{ requests: string; errors: string }>(
        "SELECT sum(requests) AS requests, sum(errors) AS errors FROM predictions_per_minute WHERE model_name = 'writer-test'",
      );
      assert.deepEqual({ requests: Number(rollup!.requests), errors: Number(rollup!.errors) }, { requests: 2500, errors: 250 });
      const [special] = await engine.query<{ f: unknown[]; t: string }>(
        "SELECT arrayMap(x -> toString(x), features) AS f, toString(timestamp) AS t FROM predictions WHERE request_id = 'w-7'",
      );
      assert.deepEqual(special!.f, ["nan", "inf", "1"]);
      assert.equal(special!.t, formatDateTime64(FIXTURE_START_US + 7000));
    });

    test("re-inserting a batch with its token is a no-op in the table and in the rollup", async () => {
      const body = Buffer.from(
        `${[1, 2, 3].map((i) => JSON.stringify(predictionRow(predictionRecord(i, { modelName: "dedup-test", requestId: `d-${i}` })))).join("\n")}\n`,
      );
      for (let i = 0; i < 3; i++) await engine.insertJsonLines("predictions", body, { deduplicationToken: "batch-dedup-test" });
      assert.equal(await total(engine, "predictions", "model_name = 'dedup-test'"), 3);
      const [rollup] = await engine.query<{ requests: string }>("SELECT sum(requests) AS requests FROM predictions_per_minute WHERE model_name = 'dedup-test'");
      assert.equal(Number(rollup!.requests), 3);
    });

    test("shadow rows stay out of the rollups and of the model's own figures, but count for their version", async () => {
      const rows = [1, 2, 3].flatMap((i) => [
        predictionRecord(i, { modelName: "shadow-test", requestId: `sh-${i}`, status: "OK" }),
        predictionRecord(i, { modelName: "shadow-test", requestId: `sh-${i}`, status: "OK", modelVersion: "2", role: "shadow" }),
      ]);
      await engine.insertJsonLines("predictions", Buffer.from(`${rows.map((r) => JSON.stringify(predictionRow(r))).join("\n")}\n`));
      const rollup = await engine.query<{ version: string; requests: string }>(
        "SELECT model_version AS version, sum(requests) AS requests FROM predictions_per_minute WHERE model_name = 'shadow-test' GROUP BY version",
      );
      assert.deepEqual(
        rollup.map((r) => [r.version, Number(r.requests)]),
        [["1", 3]],
      );
      const [calls] = await engine.query<{ calls: string }>("SELECT sum(calls) AS calls FROM requests_per_minute WHERE model_name = 'shadow-test'");
      assert.equal(Number(calls!.calls), 3);
      const count = async (version: string) => {
        const [row] = await engine.query<{ n: string }>(`SELECT count() AS n FROM predictions WHERE ${okPredictionsOfModel()}`, {
          model: "shadow-test",
          version,
          from: FIXTURE_START_US,
          to: FIXTURE_START_US + 60_000_000,
        });
        return Number(row!.n);
      };
      assert.deepEqual([await count(""), await count("1"), await count("2")], [3, 3, 3]);
      assert.equal((await getPrediction(engine, "sh-2", 0))?.role, "primary", "a request's row is the one its client got");
    });

    test("rollout events read back in order, by model and policy", async () => {
      const event = (timestampMs: number, policyId: string, action: RolloutEvent["action"], judgedToMs = timestampMs): RolloutEvent => ({
        timestampMs,
        modelName: "rollout-test",
        policyId,
        action,
        mode: "canary",
        primaryVersion: "1",
        candidateVersion: "2",
        actor: "test",
        reason: `${action} at ${timestampMs}`,
        policy: "{}",
        judgedToMs,
      });
      const t = Date.now();
      // The rollback rests on rows up to a window that ended a minute before it; 'started' has no judged_to of its own.
      for (const e of [event(t + 2, "p1", "rolled_back", t - 60_000), { ...event(t, "p1", "started"), judgedToMs: undefined }, event(t + 1, "p2", "started")]) {
        await saveRolloutEvent(engine, e);
      }
      const all = await listRolloutEvents(engine, { model: "rollout-test" });
      assert.deepEqual(
        all.map((e) => [e.policyId, e.action]),
        [
          ["p1", "started"],
          ["p2", "started"],
          ["p1", "rolled_back"],
        ],
      );
      assert.deepEqual(await listRolloutEvents(engine, { model: "rollout-test", policyId: "p1" }), [
        event(t, "p1", "started"),
        event(t + 2, "p1", "rolled_back", t - 60_000),
      ]);
    });

    test("predictions join their newest label", async () => {
      const predictions = await writer<PredictionRecord>("predictions", predictionRow);
      const labels = await writer<LabelRecord>("labels", labelRow);
      predictions.start();
      labels.start();
      for (let i = 0; i < 4; i++) await predictions.append(predictionRecord(i, { modelName: "join-test", requestId: `j-${i}`, prediction: "on_time" }));
      const label = (i: number, value: string, at: number): LabelRecord => ({
        requestId: `j-${i}`,
        rowIndex: 0,
        modelName: "join-test",
        label: value,
        timestampUs: at,
        source: "test",
      });
      await labels.append(label(0, "delayed", 1_000));
      await labels.append(label(0, "on_time", 2_000));
      await labels.append(label(1, "on_time", 5_000));
      await labels.append(label(1, "delayed", 3_000));
      await labels.append(label(2, "delayed", 1_000));
      await predictions.close();
      await labels.close();
      const pairs = await labelledPredictions(engine, "join-test", { fromUs: 0, toUs: Date.UTC(2030, 0, 1) * 1000 });
      assert.deepEqual(
        pairs.map((p) => [p.request_id, p.prediction, p.label]),
        [
          ["j-0", "on_time", "on_time"],
          ["j-1", "on_time", "on_time"],
          ["j-2", "on_time", "delayed"],
        ],
      );
    });

    test("a full memory queue spills to the spool and everything still lands exactly once", async () => {
      const w = await writer<PredictionRecord>("predictions", predictionRow, { maxBatchRows: 50, maxMemoryRows: 100, maxBatchAgeMs: 5 });
      w.start();
      let peakSpool = 0;
      for (let i = 0; i < 3000; i++) {
        await w.append(predictionRecord(i, { modelName: "spill-test", requestId: `s-${i}` }));
        peakSpool = Math.max(peakSpool, w.stats().spoolBatches);
        assert.ok(w.stats().memoryRows <= 100, "memory stays bounded");
      }
      await eventually(
        async () => w.stats(),
        (s) => s.spoolBatches === 0 && s.memoryRows === 0,
        "spool drained",
      );
      await w.close();
      assert.ok(peakSpool > 0, "the spool was used");
      assert.equal(await total(engine, "predictions", "model_name = 'spill-test'"), 3000);
      assert.equal(await duplicatedPredictions(engine), 0);
      assert.ok((await predictionCounts(engine, "spill-test")).some((c) => c.status === "OK"));
    });
  });
}

storeSuite("the embedded engine (chDB)", async () => {
  const dir = await tempDir("vigil-chdb-");
  const engine = new EmbeddedEngine(dir.path);
  return {
    engine,
    close: async () => {
      await engine.close();
      await dir.remove();
    },
  };
});

storeSuite("a ClickHouse HTTP server (@clickhouse/client)", async () => {
  const dir = await tempDir("vigil-chhttp-");
  const server: ClickHouseHttp = await startClickHouseHttp(dir.path);
  const engine = new ServerEngine({ url: server.url });
  return {
    engine,
    close: async () => {
      await engine.close();
      await server.stop();
      await dir.remove();
    },
  };
});

test("two processes migrating a fresh database at once converge on one schema", async () => {
  const dir = await tempDir("vigil-migrate-race-");
  const server = await startClickHouseHttp(dir.path);
  const [a, b] = [new ServerEngine({ url: server.url }), new ServerEngine({ url: server.url })];
  try {
    await Promise.all([migrate(a), migrate(b)]);
    const versions = await a.query<{ version: number; copies: string }>(
      "SELECT version, count() AS copies FROM schema_migrations FINAL GROUP BY version ORDER BY version",
    );
    assert.deepEqual(
      versions.map((v) => [Number(v.version), Number(v.copies)]),
      (await readMigrations()).map((m) => [m.version, 1]),
    );
    const [tables] = await b.query<{ n: string }>(
      "SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name IN ('predictions', 'labels', 'otel_traces', 'monitor_results')",
    );
    assert.equal(Number(tables!.n), 4);
  } finally {
    await a.close();
    await b.close();
    await server.stop();
    await dir.remove();
  }
});

test("a store closed while it is still migrating (a stop asked during start-up) ends its preparation without an error", async () => {
  const dir = await tempDir("vigil-close-while-migrating-");
  try {
    const store = await openTestStore({ dataDir: join(dir.path, "data"), spoolDir: join(dir.path, "spool") });
    const migrated = store.ready();
    await store.close();
    await migrated;
  } finally {
    await dir.remove();
  }
});

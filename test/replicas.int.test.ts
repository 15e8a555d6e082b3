import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { type LoadgenSummary, runLoadgen } from "@vigil/cli";
import { PREDICTIONS, PREDICTIONS_PER_MINUTE, REQUESTS_PER_MINUTE, type StoreEngine, migrate, openEngine } from "@vigil/store";
import { type ClickHouseHttp, startClickHouseHttp } from "./support/clickhouse-http.js";
import { inferenceClient, unary } from "./support/grpc.js";
import type { ProcessOwner } from "./support/processes.js";
import { duplicatedPredictions } from "./support/queries.js";
import { demoWorkspace, serveDemo } from "./support/vigil.js";

const REPLICAS = 3;
const RATE = 100;
const LOAD_MS = 12_000;
/** The writer's maxBatchAgeMs default: a row waits at most this long in memory before its insert. */
const BATCH_AGE_MS = 1000;

/**
 * Several `vigil serve` replicas writing to one ClickHouse server, each with its own spool, as
 * docs/deployment.md scales them: the prediction log and the rollups the monitor reads hold the
 * sum of what the replicas answered, through one replica killed and restarted under load.
 */
describe("serving replicas on one ClickHouse server", () => {
  const workspace = demoWorkspace("vigil-replicas-");

  /** Replica `n` of `vigil serve` on `clickhouse`, with its own spool directory; resolves once its model serves. */
  const replica = (clickhouse: ClickHouseHttp, n: number, owner: ProcessOwner) =>
    serveDemo(
      {
        ...process.env,
        VIGIL_CLICKHOUSE_URL: clickhouse.url,
        VIGIL_SPOOL_DIR: join(workspace.dir, `spool-${n}`),
        VIGIL_MODEL_REPOSITORY: workspace.repository,
        VIGIL_METRICS_PORT: "off",
        VIGIL_LOG_LEVEL: "info",
        VIGIL_TRACING: "false",
      },
      { owner },
    );

  const load = (address: string, idPrefix: string, durationMs: number): Promise<LoadgenSummary> =>
    runLoadgen({ target: address, model: "flights", rate: RATE, concurrency: 4, requests: 0, durationMs, batch: 1, idPrefix });

  /** OK rows in the prediction log per request id prefix. */
  async function loggedByPrefix(engine: StoreEngine): Promise<Map<string, number>> {
    const rows = await engine.query<{ prefix: string; ok: string | number }>(
      `SELECT substring(request_id, 1, position(request_id, '-')) AS prefix, countIf(status = 'OK') AS ok FROM ${PREDICTIONS} GROUP BY prefix`,
    );
    return new Map(rows.map((r) => [r.prefix, Number(r.ok)]));
  }

  /** Successful inferences a replica counts in its ModelStatistics (since it started). */
  async function successes(address: string): Promise<number> {
    const client = inferenceClient(address);
    try {
      const [stats] = (await unary(client.modelStatistics, client, { name: "flights", version: "" })).modelStats;
      return Number(stats?.inferenceStats?.success?.count ?? 0);
    } finally {
      client.close();
    }
  }

  async function total(engine: StoreEngine, sql: string): Promise<number> {
    const [row] = await engine.query<{ n: string | number }>(sql);
    return Number(row?.n ?? 0);
  }

  test(`${REPLICAS} replicas under load, one SIGKILLed and restarted: the log and the rollups hold the sum of what each answered`, {
    timeout: 300_000,
  }, async (ctx) => {
    const clickhouse = await startClickHouseHttp(join(workspace.dir, "clickhouse"), { owner: ctx });
    const engine = openEngine({ clickhouseUrl: clickhouse.url, dataDir: "" });
    ctx.after(() => engine.close());
    await migrate(engine);
    const replicas = await Promise.all(Array.from({ length: REPLICAS }, (_, n) => replica(clickhouse, n, ctx)));
    const loads = replicas.map((r, n) => load(r.address, `r${n}-`, LOAD_MS));
    // Replica 1 dies a third of the way in; its clients see failures until it is back.
    await new Promise((r) => setTimeout(r, LOAD_MS / 3));
    await replicas[1]!.stop("SIGKILL");
    const restarted = await replica(clickhouse, 1, ctx);
    const afterRestart = await load(restarted.address, "r1b-", LOAD_MS / 2);
    const summaries = await Promise.all(loads);
    const survivors = { "r0-": replicas[0]!, "r1b-": restarted, "r2-": replicas[2]! };
    const statistics = new Map<string, number>();
    for (const [prefix, r] of Object.entries(survivors)) statistics.set(prefix, await successes(r.address));
    for (const r of Object.values(survivors)) assert.equal(await r.stop(), 0, "a graceful stop flushes the writer");

    const logged = await loggedByPrefix(engine);
    const answered = new Map<string, number>([...summaries.map((s, n) => [`r${n}-`, s.ok] as const), ["r1b-", afterRestart.ok] as const]);
    for (const [prefix, ok] of answered)
      ctx.diagnostic(`${prefix} answered ${ok}, ModelStatistics ${statistics.get(prefix) ?? "(killed)"}, logged ${logged.get(prefix) ?? 0}`);
    const bound = (RATE * 2 * BATCH_AGE_MS) / 1000;
    for (const prefix of Object.keys(survivors)) {
      assert.ok(answered.get(prefix)! > RATE, `${prefix} served load (${answered.get(prefix)})`);
      assert.equal(statistics.get(prefix), answered.get(prefix), `${prefix}: the replica's ModelStatistics count what it answered`);
      assert.equal(logged.get(prefix) ?? 0, answered.get(prefix), `every prediction ${prefix} answered is logged`);
    }
    const lost = answered.get("r1-")! - (logged.get("r1-") ?? 0);
    assert.ok(lost >= 0 && lost <= bound, `the killed replica lost at most two batch ages of its traffic (${lost}, bound ${bound})`);
    assert.ok(summaries[1]!.failed > 0, "the killed replica's clients saw it go");

    const logTotal = await total(engine, `SELECT count() AS n FROM ${PREDICTIONS}`);
    const expected = [...logged.values()].reduce((a, b) => a + b, 0);
    assert.equal(logTotal, expected, "no rows but the replicas' answers");
    assert.equal(await duplicatedPredictions(engine), 0, "no replica wrote a row twice");
    // What the monitor and SLOs read: the per-minute rollups, fed by all replicas' inserts.
    assert.equal(await total(engine, `SELECT sum(requests) AS n FROM ${REQUESTS_PER_MINUTE}`), logTotal, "requests_per_minute counts every logged row once");
    assert.equal(
      await total(engine, `SELECT sum(requests) AS n FROM ${PREDICTIONS_PER_MINUTE}`),
      logTotal,
      "predictions_per_minute counts every logged row once",
    );
  });
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type LoadgenSummary, runLoadgen } from "@vigil/cli";
import { PREDICTIONS, PREDICTIONS_PER_MINUTE, REQUESTS_PER_MINUTE, type StoreEngine, migrate, openEngine } from "@vigil/store";
import { type ClickHouseHttp, startClickHouseHttp } from "./support/clickhouse-http.js";
import { addDemoModel, tempRepository } from "./support/models.js";
import type { ProcessOwner } from "./support/processes.js";
import { duplicatedPredictions } from "./support/queries.js";
import { eventually, tempDir } from "./support/store.js";
import { type VigilProcess, spawnVigil } from "./support/vigil.js";

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
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let clickhouse: ClickHouseHttp;
  let engine: StoreEngine;

  before(async () => {
    dirs = await tempDir("vigil-replicas-");
    repo = await tempRepository();
    await addDemoModel(repo.path);
    clickhouse = await startClickHouseHttp(join(dirs.path, "clickhouse"));
    engine = openEngine({ clickhouseUrl: clickhouse.url, dataDir: "" });
    await migrate(engine);
  });
  after(async () => {
    await engine.close();
    await clickhouse.stop();
    await repo.remove();
    await dirs.remove();
  });

  /** Replica `n` of `vigil serve`, on its own spool directory; resolves once its model serves. */
  async function replica(n: number, owner: ProcessOwner): Promise<VigilProcess & { address: string }> {
    const started = spawnVigil(["serve", "--port", "0", "--no-monitor", "--api-port", "off"], {
      ...process.env,
      VIGIL_CLICKHOUSE_URL: clickhouse.url,
      VIGIL_SPOOL_DIR: join(dirs.path, `spool-${n}`),
      VIGIL_MODEL_REPOSITORY: repo.path,
      VIGIL_GRPC_HOST: "127.0.0.1",
      VIGIL_METRICS_PORT: "off",
      VIGIL_LOG_LEVEL: "info",
      VIGIL_TRACING: "false",
    }, { owner });
    const listening = await eventually(async () => started.logs.find((l) => l.msg === "gRPC server listening"), Boolean, `replica ${n} to listen`, 60_000);
    await eventually(async () => started.logs.some((l) => /^model flights:\d+ ready/.test(String(l.msg))), Boolean, `replica ${n}'s model to load`, 60_000);
    return { ...started, address: listening!.address as string };
  }

  const load = (address: string, idPrefix: string, durationMs: number): Promise<LoadgenSummary> =>
    runLoadgen({ target: address, model: "flights", rate: RATE, concurrency: 4, requests: 0, durationMs, batch: 1, idPrefix });

  /** OK rows in the prediction log per request id prefix. */
  async function loggedByPrefix(): Promise<Map<string, number>> {
    const rows = await engine.query<{ prefix: string; ok: string | number }>(
      `SELECT substring(request_id, 1, position(request_id, '-')) AS prefix, countIf(status = 'OK') AS ok FROM ${PREDICTIONS} GROUP BY prefix`,
    );
    return new Map(rows.map((r) => [r.prefix, Number(r.ok)]));
  }

  async function total(sql: string): Promise<number> {
    const [row] = await engine.query<{ n: string | number }>(sql);
    return Number(row?.n ?? 0);
  }

  test(`${REPLICAS} replicas under load, one SIGKILLed and restarted: the log and the rollups hold the sum of what each answered`, { timeout: 300_000 }, async (ctx) => {
    const replicas = await Promise.all(Array.from({ length: REPLICAS }, (_, n) => replica(n, ctx)));
    const loads = replicas.map((r, n) => load(r.address, `r${n}-`, LOAD_MS));
    // Replica 1 dies a third of the way in; its clients see failures until it is back.
    await new Promise((r) => setTimeout(r, LOAD_MS / 3));
    await replicas[1]!.stop("SIGKILL");
    const restarted = await replica(1, ctx);
    const afterRestart = await load(restarted.address, "r1b-", LOAD_MS / 2);
    const summaries = await Promise.all(loads);
    for (const r of [replicas[0]!, restarted, replicas[2]!]) assert.equal(await r.stop(), 0, "a graceful stop flushes the writer");

    const logged = await loggedByPrefix();
    const answered = new Map<string, number>([...summaries.map((s, n) => [`r${n}-`, s.ok] as const), ["r1b-", afterRestart.ok] as const]);
    for (const [prefix, ok] of answered) ctx.diagnostic(`${prefix} answered ${ok}, logged ${logged.get(prefix) ?? 0}`);
    const bound = (RATE * 2 * BATCH_AGE_MS) / 1000;
    for (const prefix of ["r0-", "r2-", "r1b-"]) {
      assert.ok(answered.get(prefix)! > RATE, `${prefix} served load (${answered.get(prefix)})`);
      assert.equal(logged.get(prefix) ?? 0, answered.get(prefix), `every prediction ${prefix} answered is logged`);
    }
    const lost = answered.get("r1-")! - (logged.get("r1-") ?? 0);
    assert.ok(lost >= 0 && lost <= bound, `the killed replica lost at most two batch ages of its traffic (${lost}, bound ${bound})`);
    assert.ok(summaries[1]!.failed > 0, "the killed replica's clients saw it go");

    const logTotal = await total(`SELECT count() AS n FROM ${PREDICTIONS}`);
    const expected = [...logged.values()].reduce((a, b) => a + b, 0);
    assert.equal(logTotal, expected, "no rows but the replicas' answers");
    assert.equal(await duplicatedPredictions(engine), 0, "no replica wrote a row twice");
    // What the monitor and SLOs read: the per-minute rollups, fed by all replicas' inserts.
    assert.equal(await total(`SELECT sum(requests) AS n FROM ${REQUESTS_PER_MINUTE}`), logTotal, "requests_per_minute counts every logged row once");
    assert.equal(await total(`SELECT sum(requests) AS n FROM ${PREDICTIONS_PER_MINUTE}`), logTotal, "predictions_per_minute counts every logged row once");
  });
});

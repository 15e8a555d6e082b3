/**
 * Rollout judging benchmark: a canary (a fifth of the rows) judged against the primary on every
 * row since its start, in ClickHouse (judgeRollout: per-version counts and exact percentiles,
 * the latency rank sums, per monitor window and in all), against pulling the same rows into JS
 * and computing the overall figures there (same run). Rows are generated inside ClickHouse.
 *
 *   node --import tsx bench/rollout.ts [--rows 1000000,5000000]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RolloutStatus, judgeRollout } from "@vigil/monitor";
import { EmbeddedEngine, type StoreEngine, migrate } from "@vigil/store";
import { flag } from "./args.js";
import { machineLine } from "./machine.js";
import { writeBenchmarkSection } from "./report.js";

const sizes = (flag("rows") ?? "1000000,5000000").split(",").map(Number);
const STEP_MS = 3_600_000;

/** n rows one millisecond apart (a fifth from the canary, version 2), 1% failing, all labelled; the canary is right a little less often. */
async function generate(engine: StoreEngine, model: string, n: number, startMs: number): Promise<void> {
  await engine.command(
    `INSERT INTO predictions (timestamp, request_id, row_index, model_name, model_version, status, latency_us, features, prediction, scores, confidence, role)
     SELECT fromUnixTimestamp64Milli(toInt64({start:Int64} + number), 'UTC'), concat({model:String}, '-', toString(number)), 0, {model:String},
            if(canary, '2', '1'), if(cityHash64(number, 2) % 100 = 0, 'UNAVAILABLE', 'OK'), toUInt32(500 + cityHash64(number, 3) % 3000 + canary * 20),
            [], if((cityHash64(number, 4) % 1000) < if(canary, 780, 800), truth, if(truth = 'delayed', 'on_time', 'delayed')), [], 0, if(canary, 'canary', 'primary')
     FROM (SELECT number, cityHash64(number, 1) % 5 = 0 AS canary, if(cityHash64(number, 5) % 2 = 0, 'delayed', 'on_time') AS truth FROM numbers({n:UInt64}))`,
    { start: startMs, model, n },
  );
  await engine.command(
    `INSERT INTO labels (request_id, row_index, model_name, label, timestamp, source)
     SELECT concat({model:String}, '-', toString(number)), 0, {model:String}, if(cityHash64(number, 5) % 2 = 0, 'delayed', 'on_time'),
            fromUnixTimestamp64Milli(toInt64({start:Int64} + number + 60000), 'UTC'), 'bench'
     FROM numbers({n:UInt64})`,
    { start: startMs, model, n },
  );
}

/** The baseline: every row's role, status, latency, prediction and label pulled into JS; counts, accuracy, the rank sum by sorting. */
async function inJs(engine: StoreEngine, model: string, fromMs: number, toMs: number) {
  const latencies: Array<[number, boolean]> = [];
  const counts = { canary: { rows: 0, errors: 0, correct: 0, labelled: 0 }, primary: { rows: 0, errors: 0, correct: 0, labelled: 0 } };
  for await (const rows of engine.stream<{ role: string; status: string; latency: number; prediction: string; label: string }>(
    `SELECT p.role AS role, p.status AS status, p.latency_us AS latency, p.prediction AS prediction, l.label AS label
     FROM predictions AS p LEFT JOIN (SELECT request_id, argMax(label, timestamp) AS label FROM labels WHERE model_name = {model:String} GROUP BY request_id) AS l
       ON p.request_id = l.request_id
     WHERE p.model_name = {model:String} AND p.timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND p.timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`,
    { model, from: fromMs, to: toMs },
  )) {
    for (const r of rows) {
      const side = r.role === "canary" ? counts.canary : counts.primary;
      side.rows++;
      if (r.status !== "OK") {
        side.errors++;
        continue;
      }
      latencies.push([Number(r.latency), r.role === "canary"]);
      if (r.label !== "") {
        side.labelled++;
        if (r.prediction === r.label) side.correct++;
      }
    }
  }
  latencies.sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  for (let i = 0; i < latencies.length; ) {
    let j = i;
    while (j < latencies.length && latencies[j]![0] === latencies[i]![0]) j++;
    const meanRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (latencies[k]![1]) rankSum += meanRank;
    i = j;
  }
  return { ...counts, rankSum };
}

const dir = await mkdtemp(join(tmpdir(), "vigil-bench-rollout-"));
const engine = new EmbeddedEngine(join(dir, "data"));
try {
  await migrate(engine);
  const lines: string[] = [];
  for (const n of sizes) {
    const model = `bench-rollout-${n}`;
    const startMs = Math.floor((Date.now() - 2 * 3_600_000 - n) / STEP_MS) * STEP_MS;
    const t0 = performance.now();
    await generate(engine, model, n, startMs);
    const generateS = (performance.now() - t0) / 1000;
    const policy = {
      mode: "canary" as const,
      candidate: 2,
      primary: 1,
      shadow_share: 1,
      shadow_max_queue: 256,
      canary_weight: 0.2,
      auto_rollback: true,
      significance: 0.05,
    };
    const status: RolloutStatus & { startedMs: number } = {
      model,
      policy,
      policyId: "bench",
      events: [],
      startedMs: startMs,
      state: "active",
      decidedToMs: undefined,
      primaryVersion: "1",
      candidateVersion: "2",
    };
    const asOfMs = startMs + n + 1;
    const judge = () => judgeRollout(engine, status, { stepMs: STEP_MS, asOfMs, classifier: true });
    const t1 = performance.now();
    await judge();
    const coldS = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    const j = await judge();
    const sqlS = (performance.now() - t2) / 1000;
    await inJs(engine, model, startMs, asOfMs);
    const t3 = performance.now();
    const js = await inJs(engine, model, startMs, asOfMs);
    const jsS = (performance.now() - t3) / 1000;
    const latencyU = j.tests.find((t) => t.name === "latency")!.statistic;
    const canaryCalls = js.canary.rows - js.canary.errors;
    const jsU = js.rankSum - (canaryCalls * (canaryCalls + 1)) / 2;
    if (
      j.candidate.rows !== js.canary.rows ||
      j.candidate.correct !== js.canary.correct ||
      j.primary.correct !== js.primary.correct ||
      j.candidate.errors !== js.canary.errors
    ) {
      throw new Error(`JS and SQL disagree on counts: ${JSON.stringify({ js, sql: { candidate: j.candidate, primary: j.primary } })}`);
    }
    if (Math.abs(latencyU - jsU) > 1e-6 * jsU) throw new Error(`Mann-Whitney U: SQL ${latencyU}, JS ${jsU}`);
    lines.push(
      `| ${n.toLocaleString("en")} | ${j.windows.length} | ${generateS.toFixed(1)} | ${coldS.toFixed(2)} | ${sqlS.toFixed(2)} | ${jsS.toFixed(2)} | ${(jsS / sqlS).toFixed(1)}x | ${j.verdict} |`,
    );
    console.log(lines.at(-1));
  }
  const table = [
    "| rows (labelled) | monitor windows | generate in ClickHouse (s) | judge in ClickHouse, first run (s) | judge in ClickHouse, warm (s) | pull rows into JS and compute, warm (s) | speed-up, warm | verdict |",
    "|---:|---:|---:|---:|---:|---:|---:|---|",
    ...lines,
  ].join("\n");
  await writeBenchmarkSection(
    join(import.meta.dirname, "..", "docs", "benchmarks.md"),
    "Monitor: judging a rollout",
    `Command: \`node --import tsx bench/rollout.ts --rows ${sizes.join(",")}\` (embedded chDB).\n\n${machineLine()}; ${new Date().toISOString().slice(0, 10)}.\n\n${table}\n\n` +
      "One canary rollout (a fifth of the rows from the candidate, 1% failing, every row labelled, one-hour monitor windows) judged on every row since its start: `judgeRollout` computes each version's rows, errors, labelled and correct rows and exact p50/p95/p99 per window and in all, and the latency rank sums for Mann-Whitney U, in ClickHouse. " +
      "The JS baseline streams the same joined rows out and computes only the overall counts and the rank sum (by sorting the latencies), a subset; the script checks both agree. Both timed warm, after a first run of each.\n",
  );
} finally {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
}

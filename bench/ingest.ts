/**
 * Ingest benchmark: prediction rows through Vigil's batched writer against a raw bulk insert
 * of the same rows into the same engine, in the same run, on both engines (embedded chDB in
 * this process; @clickhouse/client against the test harness's ClickHouse HTTP interface). Both
 * paths are warmed up, then timed for several rounds in alternating order.
 *
 *   node --import tsx bench/ingest.ts [--rows 200000] [--rounds 3]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { SpanKind } from "@opentelemetry/api";
import { Tracing } from "@vigil/inference";
import {
  BatchedWriter,
  EmbeddedEngine,
  type SpanRecord,
  spanRow,
  type PredictionRecord,
  ServerEngine,
  type StoreEngine,
  migrate,
  predictionRow,
} from "@vigil/store";
import { startClickHouseHttp } from "../test/support/clickhouse-http.js";
import { flag } from "./args.js";
import { machineLine } from "./machine.js";
import { writeBenchmarkSection } from "./report.js";
import { type Spread, spread } from "./spread.js";

const rows = Number(flag("rows") ?? 200_000);
const rounds = Number(flag("rounds") ?? 3);
const BATCH = 5000;
/** Untimed rows each path inserts first, so neither meets a cold engine, table or JIT when timed. */
const WARM_UP_ROWS = Math.min(rows, 20_000);

function record(i: number, run: string): PredictionRecord {
  return {
    timestampUs: Date.now() * 1000 + i,
    requestId: `${run}-${i}`,
    rowIndex: 0,
    traceId: "",
    spanId: "",
    modelName: run,
    modelVersion: "1",
    status: i % 50 === 0 ? "INVALID_ARGUMENT" : "OK",
    error: "",
    latencyUs: 900 + (i % 400),
    queueUs: 100,
    computeUs: 150,
    batchSize: 1,
    features: [i % 24, i % 7, 200 + (i % 2500), i % 80, (i * 7) % 80],
    prediction: i % 4 === 0 ? "delayed" : "on_time",
    scores: [0.3, 0.7],
    confidence: 0.7,
    client: "127.0.0.1",
    role: "primary",
  };
}

async function count(engine: StoreEngine, model: string): Promise<number> {
  const [row] = await engine.query<{ n: string }>("SELECT count() AS n FROM predictions WHERE model_name = {model:String}", { model });
  return Number(row!.n);
}

/** One INSERT of every row (JSON encoding included), the fastest the engine takes them. */
async function rawBulk(engine: StoreEngine, run: string, n: number): Promise<number> {
  const started = performance.now();
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(JSON.stringify(predictionRow(record(i, run))));
  await engine.insertJsonLines("predictions", Buffer.from(`${lines.join("\n")}\n`));
  return performance.now() - started;
}

async function throughWriter(engine: StoreEngine, run: string, n: number, spoolDir: string): Promise<number> {
  const writer = await BatchedWriter.open<PredictionRecord>({
    engine,
    table: "predictions",
    encode: predictionRow,
    spoolDir,
    log: pino({ level: "silent" }),
    maxBatchRows: BATCH,
  });
  writer.start();
  const started = performance.now();
  for (let i = 0; i < n; i++) await writer.append(record(i, run));
  await writer.flush();
  const ms = performance.now() - started;
  await writer.close();
  return ms;
}

type Path = "raw" | "writer";

async function measure(name: string, engine: StoreEngine, dir: string): Promise<string> {
  await migrate(engine);
  const insert = (path: Path, run: string, n: number) => (path === "raw" ? rawBulk(engine, run, n) : throughWriter(engine, run, n, join(dir, `spool-${run}`)));
  for (const path of ["raw", "writer"] as const) await insert(path, `warm-${path}-${name}`, WARM_UP_ROWS);
  const rates: Record<Path, number[]> = { raw: [], writer: [] };
  for (let round = 0; round < rounds; round++) {
    // Alternating which path goes first, so neither always inserts into the table the other just grew.
    for (const path of round % 2 === 0 ? (["raw", "writer"] as const) : (["writer", "raw"] as const)) {
      const run = `${path}-${name}-${round}`;
      const ms = await insert(path, run, rows);
      const landed = await count(engine, run);
      if (landed !== rows) throw new Error(`${run}: ${landed} rows landed, expected ${rows}`);
      rates[path].push((rows / ms) * 1000);
      console.log(`${name} round ${round + 1}, ${path}: ${Math.round(rates[path].at(-1)!)} rows/s`);
    }
  }
  const [raw, writer] = [spread(rates.raw), spread(rates.writer)];
  const shown = (s: Spread) =>
    `${Math.round(s.median).toLocaleString("en")} (${Math.round(s.min).toLocaleString("en")}–${Math.round(s.max).toLocaleString("en")})`;
  return `| ${name} | ${shown(raw)} | ${shown(writer)} | ${(writer.median / raw.median).toFixed(2)}x |`;
}

/** Spans through Vigil's span path: tracer, keep-errors processor, span rows, batched writer, otel_traces. */
async function spanExport(engine: StoreEngine, dir: string, spans: number): Promise<string> {
  const writer = await BatchedWriter.open<SpanRecord>({
    engine,
    table: "otel_traces",
    encode: spanRow,
    spoolDir: join(dir, "spool-spans"),
    log: pino({ level: "silent" }),
    maxBatchRows: BATCH,
  });
  writer.start();
  const tracing = new Tracing({ sampleRatio: 1, writer, log: pino({ level: "silent" }) });
  const started = performance.now();
  for (let i = 0; i < spans; i++) {
    const span = tracing.tracer.startSpan("inference.GRPCInferenceService/ModelInfer", {
      kind: SpanKind.SERVER,
      attributes: { "rpc.system": "grpc", "vigil.request_id": `bench-${i}`, "vigil.model": "flights" },
    });
    span.end();
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  await writer.flush();
  const ms = performance.now() - started;
  await writer.close();
  await tracing.shutdown();
  const [row] = await engine.query<{ n: string }>("SELECT count() AS n FROM otel_traces WHERE SpanAttributes['vigil.request_id'] LIKE 'bench-%'");
  if (Number(row!.n) !== spans) throw new Error(`${row!.n} span rows landed, expected ${spans}`);
  return `| spans through the exporter into otel_traces (embedded chDB) | ${Math.round((spans / ms) * 1000).toLocaleString("en")} spans/s |`;
}

const dir = await mkdtemp(join(tmpdir(), "vigil-bench-ingest-"));
try {
  const lines: string[] = [];
  const embedded = new EmbeddedEngine(join(dir, "embedded"));
  lines.push(await measure("embedded chDB", embedded, dir));
  const spanLine = await spanExport(embedded, dir, rows / 2);
  await embedded.close();
  const http = await startClickHouseHttp(join(dir, "server"));
  const server = new ServerEngine({ url: http.url });
  lines.push(await measure("ClickHouse HTTP (@clickhouse/client, gzip)", server, dir));
  await server.close();
  await http.stop();
  const table = [
    "| engine | raw bulk insert (rows/s), median (min–max) | batched writer (rows/s), median (min–max) | writer / raw, medians |",
    "|---|---:|---:|---:|",
    ...lines,
  ].join("\n");
  const spanTable = ["| path | sustained |", "|---|---:|", spanLine].join("\n");
  await writeBenchmarkSection(
    join(import.meta.dirname, "..", "docs", "benchmarks.md"),
    "Prediction-log ingest",
    `Command: \`node --import tsx bench/ingest.ts --rows ${rows} --rounds ${rounds}\` (part of \`npm run bench\`).\n\n${machineLine()}; ${new Date().toISOString().slice(0, 10)}.\n\n${table}\n\n` +
      `${rows.toLocaleString("en")} prediction rows each way per round, JSON encoding included. The raw baseline is one INSERT of all rows; the writer appends row by row and inserts batches of ${BATCH} with a deduplication token, one insert at a time. ` +
      `Both paths first insert ${WARM_UP_ROWS.toLocaleString("en")} rows untimed; then ${rounds} timed rounds, raw first in odd rounds and the writer first in even ones, all into the same table. ` +
      "The server engine runs against the test harness's HTTP interface over chDB in a child process, so its figures include HTTP, gzip and that harness, not a production ClickHouse server.\n\n" +
      `${spanTable}\n\n${(rows / 2).toLocaleString("en")} server spans created, ended, kept, converted to otel_traces rows and inserted through the batched writer, until all are in the table.\n`,
  );
  console.log(table);
  console.log(spanTable);
} finally {
  await rm(dir, { recursive: true, force: true });
}

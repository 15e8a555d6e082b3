/**
 * Serving benchmark: two models (the demo classifier, about 0.1 ms of compute, and a 2.4M
 * parameter MLP where compute matters) through Vigil's gRPC server at 1 to 128 concurrent
 * clients, with and without dynamic batching, reported the way Triton's perf_analyzer does
 * (throughput, client latency percentiles, server queue and compute time per request), each
 * against raw in-process onnxruntime on the same inputs and execution provider in the same run.
 * Then the cost of observability (prediction log, traces, metrics) on versus off, each setting in
 * its own server for several interleaved rounds. With a GPU on the host the MLP also runs on the
 * CUDA execution provider against CPU. The shadow section, run on its own into a report section
 * of its own (the second command; `npm run bench` runs both), serves the demo model with a shadow
 * candidate (a copy of itself) against the model alone. Writes docs/benchmarks.md.
 *
 *   npm run bench            (or: node --import tsx bench/serving.ts [--seconds 5] [--clients 1,4,16,64,128] [--rounds 3])
 *   node --import tsx bench/serving.ts --sections shadow --report-section "Serving: shadow rollouts" --seconds 3 --rounds 3
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { credentials } from "@grpc/grpc-js";
import * as ort from "onnxruntime-node";
import { LatencyRecorder, type LatencySummary } from "@vigil/cli";
import { DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME, buildVocabulary, createFlightEncoder, loadFlights, splitByMonth } from "@vigil/demo-model";
import { GRPCInferenceServiceClient, type ModelStatistics } from "@vigil/proto";
import { flag } from "./args.js";
import { serveCommand } from "./serve-command.js";
import type { LoadJob, LoadResult } from "./load-client.js";
import { gpuDescription, machineLine } from "./machine.js";
import { mlpOnnx, mlpRows } from "./mlp.js";
import { writeBenchmarkSection } from "./report.js";
import { type Spread, spread } from "./spread.js";

const seconds = Number(flag("seconds") ?? 5);
const clientCounts = (flag("clients") ?? "1,4,16,64,128").split(",").map(Number);
/** Rounds of the observability comparison; one sample would have no spread to judge a difference against. */
const rounds = Number(flag("rounds") ?? 3);
if (!(rounds >= 2)) throw new Error("--rounds must be 2 or more");
/** Load-generating processes; one per four cores keeps the generator from being the bottleneck on big hosts. */
const clientProcesses = Number(flag("client-processes") ?? Math.max(1, Math.floor(availableParallelism() / 4)));
/** Serving processes of the multi-worker comparison: what `vigil serve` starts by default. */
const manyWorkers = Number(flag("workers") ?? availableParallelism());
const root = join(import.meta.dirname, "..");
const hasGpu = gpuDescription() !== "no GPU";
const SECTIONS = ["models", "transport", "observability", "workers", "gpu", "shadow"] as const;
type Section = (typeof SECTIONS)[number];
/**
 * Which parts run: all but shadow by default (gpu only where there is one; shadow writes a report
 * section of its own, see the usage above); `--sections transport,workers` for a partial run.
 */
const sections = new Set((flag("sections")?.split(",") ?? SECTIONS.filter((x) => x !== "shadow" && (x !== "gpu" || hasGpu))) as Section[]);
for (const x of sections) if (!SECTIONS.includes(x)) throw new Error(`--sections: unknown section ${x}; known: ${SECTIONS.join(", ")}`);
/** The docs/benchmarks.md section written; a partial run on another host writes a section of its own. */
const reportTitle = flag("report-section") ?? "Serving";

/** A model as the benchmark drives it: its file, its repository config, and request rows. */
interface BenchModel {
  name: string;
  description: string;
  input: string;
  width: number;
  onnx: Uint8Array;
  config: Record<string, unknown>;
  rows: Float32Array[];
}

interface Measured {
  qps: number;
  latency: LatencySummary;
}

interface ServedRow extends Measured {
  model: string;
  clients: number;
  batching: boolean;
  queueUs: number;
  computeUs: number;
  meanBatch: number;
}

async function demoModel(): Promise<BenchModel> {
  const dir = join(DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME);
  const { train, heldOut } = splitByMonth(loadFlights());
  const encode = createFlightEncoder(buildVocabulary(train));
  return {
    name: DEMO_MODEL_NAME,
    description: "demo classifier (5 inputs, logistic regression)",
    input: "features",
    width: 5,
    onnx: await readFile(join(dir, "1", "model.onnx")),
    config: JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as Record<string, unknown>,
    rows: heldOut.slice(0, 4096).map((f) => Float32Array.from(encode(f))),
  };
}

/** The MLP where compute matters (bench/mlp.ts), as the benchmark serves it. */
function mlpModel(): BenchModel {
  const onnx = mlpOnnx();
  return {
    name: "mlp",
    description: "MLP 256-1024-1024-1024-16 (2.4M parameters)",
    input: "x",
    width: 256,
    onnx,
    config: {
      name: "mlp",
      max_batch_size: 128,
      inputs: [{ name: "x", datatype: "FP32", dims: [256] }],
      outputs: [{ name: "y", datatype: "FP32", dims: [16] }],
      dynamic_batching: { max_queue_delay_us: 500, preferred_batch_sizes: [32, 64, 128] },
      max_queue_size: 4096,
      execution: { providers: ["cpu"], intra_op_threads: 1, inter_op_threads: 1, graph_optimization_level: "all", instances: 1 },
    },
    rows: mlpRows(256),
  };
}

/** Writes each model under a name of its own with the config changes given (batching off, another provider). */
async function writeRepository(
  dir: string,
  variants: Array<{ name: string; model: BenchModel; change: (config: Record<string, unknown>) => void }>,
): Promise<void> {
  for (const { name, model, change } of variants) {
    const config = structuredClone(model.config);
    config.name = name;
    change(config);
    await mkdir(join(dir, name, "1"), { recursive: true });
    await writeFile(join(dir, name, "1", "model.onnx"), model.onnx);
    await writeFile(join(dir, name, "1", "model.onnx.sha256"), createHash("sha256").update(model.onnx).digest("hex"));
    await writeFile(join(dir, name, "config.json"), JSON.stringify(config));
  }
}

/** Calls `call` from `inFlight` concurrent loops for the configured seconds, after a one-second warm-up. */
async function timedLoop(inFlight: number, call: (i: number) => Promise<unknown>): Promise<Measured> {
  const run = async (ms: number, recorder?: LatencyRecorder) => {
    const deadline = performance.now() + ms;
    let calls = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          await call(calls++);
          recorder?.record(performance.now() - t0);
        }
      }),
    );
    return (calls / (performance.now() - started)) * 1000;
  };
  await run(1000);
  const recorder = new LatencyRecorder();
  const qps = await run(seconds * 1000, recorder);
  return { qps, latency: recorder.summary() };
}

type ExecutionProvider = "cpu" | "cuda";

/** The provider a served model loaded on, as the server logged it, checked to be one the raw baselines can use too. */
function loadedOn(providers: Map<string, string>, model: string): ExecutionProvider {
  const provider = providers.get(model);
  if (provider !== "cpu" && provider !== "cuda") throw new Error(`${model} loaded on ${provider ?? "nothing"}, which the raw baselines do not run`);
  return provider;
}

async function rawSession(model: BenchModel, provider: ExecutionProvider): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model.onnx, { executionProviders: [provider], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all" });
}

/**
 * Raw onnxruntime: batch 1 one at a time, and whole batches of 64 rows (rows/s). There is no
 * "calls in flight" baseline: onnxruntime-node runs session.run synchronously on the event loop,
 * so concurrent calls on one session would only run one after another.
 */
async function rawBaselines(model: BenchModel, provider: ExecutionProvider): Promise<{ sequential: Measured; batch64RowsPerS: number }> {
  const session = await rawSession(model, provider);
  const sequential = await timedLoop(1, (i) => session.run({ [model.input]: new ort.Tensor("float32", model.rows[i % model.rows.length]!, [1, model.width]) }));
  const batch = new Float32Array(64 * model.width);
  for (let r = 0; r < 64; r++) batch.set(model.rows[r % model.rows.length]!, r * model.width);
  const batched = await timedLoop(1, () => session.run({ [model.input]: new ort.Tensor("float32", batch, [64, model.width]) }));
  await session.release();
  return { sequential, batch64RowsPerS: batched.qps * 64 };
}

/** What the server does besides serving: the prediction log, traces, Prometheus metrics. */
interface Observability {
  record: boolean;
  traces: boolean;
  metrics: boolean;
  /** Share of traces kept (errors are kept regardless). */
  sampleRatio?: number;
}

const ALL_OFF: Observability = { record: false, traces: false, metrics: false };

async function startServer(
  repository: string,
  models: string[],
  o: Observability,
  workers = 1,
): Promise<{ child: ChildProcess; port: number; providers: Map<string, string> }> {
  const env = {
    ...process.env,
    VIGIL_RECORD_PREDICTIONS: o.record ? "1" : "0",
    VIGIL_TRACING: o.traces ? "1" : "0",
    VIGIL_TRACE_SAMPLE_RATIO: String(o.sampleRatio ?? 1),
    VIGIL_METRICS_PORT: o.metrics ? "0" : "off",
    VIGIL_DATA_DIR: join(repository, ".data"),
    VIGIL_SPOOL_DIR: join(repository, ".spool"),
  };
  const child = spawn(process.execPath, serveCommand({ models: repository, workers }), {
    stdio: ["ignore", "pipe", "inherit"],
    env,
  });
  const lines = createInterface({ input: child.stdout! });
  let port = 0;
  const waiting = new Set(models);
  const providers = new Map<string, string>();
  let poolReady = false;
  // A model that fails to load leaves the server up; give up on it rather than wait forever.
  const giveUp = setTimeout(() => child.kill("SIGKILL"), 120_000);
  for await (const line of lines) {
    const entry = JSON.parse(line) as { msg: string; address?: string };
    if (entry.msg === "gRPC server listening") port = Number(entry.address!.split(":").pop());
    const ready = /^model (\S+):\d+ ready on (\S+)/.exec(entry.msg);
    if (ready) {
      waiting.delete(ready[1]!);
      providers.set(ready[1]!, ready[2]!);
    }
    // A pool is ready once its primary says every worker serves.
    if (/^\d+ workers serving on one port$/.test(entry.msg)) poolReady = true;
    if (waiting.size === 0 && port > 0 && (workers === 1 || poolReady)) break;
  }
  clearTimeout(giveUp);
  if (waiting.size > 0) throw new Error(`vigil serve did not get ${[...waiting].join(", ")} ready (see its log above)`);
  child.stdout!.resume();
  return { child, port, providers };
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** The server's own cumulative figures for a model (Triton-style ModelStatistics). */
async function serverSide(client: GRPCInferenceServiceClient, model: string) {
  const stats = await new Promise<ModelStatistics>((resolve, reject) =>
    client.modelStatistics({ name: model, version: "" }, (e, r) => (e ? reject(e) : resolve(r.modelStats[0]!))),
  );
  const s = stats.inferenceStats!;
  return {
    inferences: Number(stats.inferenceCount),
    executions: Number(stats.executionCount),
    requests: Number(s.success!.count),
    queueNs: Number(s.queue!.ns),
    computeNs: Number(s.computeInput!.ns + s.computeInfer!.ns + s.computeOutput!.ns),
  };
}

/**
 * Closed-loop clients sending one row per request as raw tensors (how Triton's clients send them),
 * spread over `clientProcesses` forked load generators so that the generator is not the limit.
 */
async function load(port: number, model: BenchModel, target: string, clients: number): Promise<Measured> {
  const processes = Math.min(clientProcesses, clients);
  const results = await Promise.all(
    Array.from({ length: processes }, (_, p) => {
      const job: LoadJob = {
        port,
        target,
        input: model.input,
        width: model.width,
        rows: model.rows.slice(0, 512).map((row) => Array.from(row)),
        inFlight: Math.floor(clients / processes) + (p < clients % processes ? 1 : 0),
        warmupMs: 1000,
        measureMs: seconds * 1000,
      };
      const child = fork(join(import.meta.dirname, "load-client.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
      return new Promise<LoadResult>((resolve, reject) => {
        child.once("message", (result: LoadResult) => (result.error ? reject(new Error(result.error)) : resolve(result)));
        child.once("exit", (code) => reject(new Error(`load generator exited with ${code} before reporting`)));
        child.send(job);
      });
    }),
  );
  const recorder = new LatencyRecorder();
  for (const result of results) for (const ms of result.latenciesMs) recorder.record(ms);
  return { qps: results.reduce((sum, r) => sum + (r.calls / r.elapsedMs) * 1000, 0), latency: recorder.summary() };
}

/** Load on a Vigil server, with the server's own queue, compute and batch figures over the same stretch. */
async function served(port: number, model: BenchModel, target: string, clients: number): Promise<Omit<ServedRow, "model" | "batching">> {
  const client = new GRPCInferenceServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    const before = await serverSide(client, target);
    const measured = await load(port, model, target, clients);
    const after = await serverSide(client, target);
    const requestCount = after.requests - before.requests;
    return {
      ...measured,
      clients,
      queueUs: (after.queueNs - before.queueNs) / requestCount / 1000,
      computeUs: (after.computeNs - before.computeNs) / requestCount / 1000,
      meanBatch: (after.inferences - before.inferences) / (after.executions - before.executions),
    };
  } finally {
    client.close();
  }
}

/** The transport floor: an empty unary RPC (ServerLive) from the same client stack, one at a time. */
async function emptyRpc(port: number): Promise<Measured> {
  const client = new GRPCInferenceServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    return await timedLoop(1, () => new Promise<void>((resolve, reject) => client.serverLive({}, (e) => (e ? reject(e) : resolve()))));
  } finally {
    client.close();
  }
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);
const unbatched = (name: string) => `${name}_unbatched`;
const noBatching = (config: Record<string, unknown>) => {
  delete config.dynamic_batching;
};
const asIs = () => undefined;

type RawBaseline = Awaited<ReturnType<typeof rawBaselines>>;

/** Sentences about one model's table, each built from figures this run measured. */
function readingNotes(model: BenchModel, modelRows: ServedRow[], raw: RawBaseline, floor: Measured): string {
  const row = (clients: number, batching: boolean) => modelRows.find((r) => r.clients === clients && r.batching === batching)!;
  const [fewest, most] = [Math.min(...clientCounts), Math.max(...clientCounts)];
  const [fewOff, fewOn, manyOff, manyOn] = [row(fewest, false), row(fewest, true), row(most, false), row(most, true)];
  const best = modelRows.reduce((a, b) => (b.qps > a.qps ? b : a));
  return [
    `In this run, ${model.name} (dynamic batching \`${JSON.stringify(model.config.dynamic_batching)}\`):`,
    `with ${fewest} client${fewest === 1 ? "" : "s"}, batching on queued each request ${fmt(fewOn.queueUs, 0)} µs (off: ${fmt(fewOff.queueUs, 0)} µs) at a mean batch of ${fmt(fewOn.meanBatch, 1)}, p50 ${fmt(fewOn.latency.p50Ms, 3)} ms (off: ${fmt(fewOff.latency.p50Ms, 3)} ms);`,
    `with ${most} clients, batches of ${fmt(manyOn.meanBatch, 1)} on average and ${fmt(manyOn.qps, 0)} req/s against ${fmt(manyOff.qps, 0)} off (${fmt(manyOn.qps / manyOff.qps)}x), queue ${fmt(manyOn.queueUs, 0)} µs per request (off: ${fmt(manyOff.queueUs, 0)} µs).`,
    `The highest served throughput, ${fmt(best.qps, 0)} req/s (${best.clients} clients, batching ${best.batching ? "dynamic" : "off"}), is ${fmt(best.qps / raw.sequential.qps)}x raw batch-1 calls and ${fmt(best.qps / raw.batch64RowsPerS)}x raw batches of 64;`,
    `a raw batch-1 call takes ${fmt(raw.sequential.latency.p50Ms * 1000, 0)} µs at p50, an empty RPC ${fmt(floor.latency.p50Ms * 1000, 0)} µs.`,
  ].join(" ");
}

/** The observability settings measured against all off, each on a fresh server in every round. */
const OBSERVED: Array<{ label: string; settings: Observability }> = [
  { label: "all off", settings: ALL_OFF },
  { label: "prediction log", settings: { record: true, traces: false, metrics: false } },
  { label: "log + traces + metrics", settings: { record: true, traces: true, metrics: true } },
  { label: "log + 10% of traces + metrics", settings: { record: true, traces: true, metrics: true, sampleRatio: 0.1 } },
];
const OBSERVED_CLIENTS = [1, 64];

interface ObservedCell {
  qps: number[];
  p99Ms: number[];
}

const cellKey = (model: string, clients: number, label: string) => `${model}/${clients}/${label}`;

/**
 * Every setting of OBSERVED, `rounds` times, each time in a server of its own; every other round
 * runs the settings in reverse, so none always goes first on a quiet machine or last after the others.
 */
async function observabilityRounds(repository: string, names: string[], models: BenchModel[]): Promise<Map<string, ObservedCell>> {
  const cells = new Map<string, ObservedCell>();
  for (let round = 0; round < rounds; round++) {
    for (const { label, settings } of round % 2 === 0 ? OBSERVED : [...OBSERVED].reverse()) {
      const server = await startServer(repository, names, settings);
      try {
        for (const model of models) {
          for (const clients of OBSERVED_CLIENTS) {
            const row = await served(server.port, model, model.name, clients);
            const key = cellKey(model.name, clients, label);
            const cell = cells.get(key) ?? { qps: [], p99Ms: [] };
            cell.qps.push(row.qps);
            cell.p99Ms.push(row.latency.p99Ms);
            cells.set(key, cell);
            console.log(`round ${round + 1}: ${model.name} ${clients} clients, ${label}: ${fmt(row.qps, 0)} req/s`);
          }
        }
      } finally {
        await stopServer(server.child);
      }
    }
  }
  return cells;
}

/** The observability table, with each setting's throughput judged against all off's min–max over the rounds. */
function observabilityReport(models: BenchModel[], cells: Map<string, ObservedCell>): string {
  const shown = (s: Spread, digits: number) => `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
  const lines = [
    "| model | clients | observability | throughput (req/s), median (min–max) | on / off, medians | p99 (ms), median (min–max) | throughput against all off |",
    "|---|---:|---|---:|---:|---:|---|",
  ];
  const beyond: string[] = [];
  let compared = 0;
  for (const model of models) {
    for (const clients of OBSERVED_CLIENTS) {
      const off = spread(cells.get(cellKey(model.name, clients, "all off"))!.qps);
      for (const { label } of OBSERVED) {
        const cell = cells.get(cellKey(model.name, clients, label))!;
        const qps = spread(cell.qps);
        let verdict = "";
        if (label !== "all off") {
          compared++;
          // Beyond the spread only when the two ranges of rounds do not overlap at all.
          verdict = qps.max < off.min ? "lower, beyond the spread" : qps.min > off.max ? "higher, beyond the spread" : "within the spread";
          if (verdict !== "within the spread")
            beyond.push(`${model.name} at ${clients} client${clients === 1 ? "" : "s"} with ${label} (${fmt(qps.median / off.median)}x)`);
        }
        lines.push(
          `| ${model.name} | ${clients} | ${label} | ${shown(qps, 0)} | ${label === "all off" ? "" : `${fmt(qps.median / off.median)}x`} | ${shown(spread(cell.p99Ms), 3)} | ${verdict} |`,
        );
      }
    }
  }
  const within = compared - beyond.length;
  const summary = [
    `${beyond.length} of ${compared} differences from all off lie outside the min–max of the rounds${beyond.length > 0 ? `: ${beyond.join("; ")}` : ""}.`,
    within > 0 ? `The other ${within} are within the spread: this run cannot tell them from run-to-run variation.` : "",
  ];
  return `${lines.join("\n")}\n\n${summary.join(" ").trim()}`;
}

/** Starts the constant-answer baseline server (bench/constant-server.ts) in its own process. */
async function startConstantServer(outputs: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "constant-server.ts"), "--outputs", String(outputs)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  for await (const line of createInterface({ input: child.stdout! })) {
    child.stdout!.resume();
    return { child, port: (JSON.parse(line) as { port: number }).port };
  }
  throw new Error("the constant-answer server exited before it listened");
}

const TRANSPORT_CLIENTS = [1, 16, 64];
const WORKERS_CLIENTS = 64;

interface TransportRow {
  clients: number;
  constant: Measured;
  vigil: Measured;
}

/** The demo model through Vigil (all observability off) against the constant-answer server, alternating at each client count. */
async function transportComparison(vigilPort: number, demo: BenchModel): Promise<TransportRow[]> {
  const outputs = ((demo.config.outputs as Array<{ dims: number[] }>)[0]?.dims ?? [2]).reduce((a, b) => a * b, 1);
  const constant = await startConstantServer(outputs);
  try {
    const rows: TransportRow[] = [];
    for (const clients of TRANSPORT_CLIENTS) {
      const baseline = await load(constant.port, demo, demo.name, clients);
      const vigil = await load(vigilPort, demo, demo.name, clients);
      rows.push({ clients, constant: baseline, vigil });
      console.log(`transport ${clients} clients: constant ${fmt(baseline.qps, 0)} req/s, vigil ${fmt(vigil.qps, 0)} req/s`);
    }
    return rows;
  } finally {
    await stopServer(constant.child);
  }
}

function transportReport(rows: TransportRow[]): string {
  const one = rows.find((r) => r.clients === 1);
  const ceiling = rows.reduce((a, b) => (b.constant.qps > a.constant.qps ? b : a));
  return [
    `A server that decodes the same ModelInfer request with the same generated code and answers a constant tensor (\`bench/constant-server.ts\`: no model, queue, validation or observability) against \`vigil serve\` with the demo model and all observability off, alternating at each client count, ${clientProcesses} load-generating process${clientProcesses === 1 ? "" : "es"}.`,
    "",
    "| clients | constant answer (req/s) | p50 (ms) | Vigil, demo model (req/s) | p50 (ms) | Vigil / constant | p50 difference (ms) |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.clients} | ${fmt(r.constant.qps, 0)} | ${fmt(r.constant.latency.p50Ms, 3)} | ${fmt(r.vigil.qps, 0)} | ${fmt(r.vigil.latency.p50Ms, 3)} | ${fmt(r.vigil.qps / r.constant.qps)}x | ${fmt(r.vigil.latency.p50Ms - r.constant.latency.p50Ms, 3)} |`,
    ),
    "",
    `The load generator's own ceiling in this run is at least ${fmt(ceiling.constant.qps, 0)} req/s (what it drove against the constant-answer server at ${ceiling.clients} clients)${one ? `; at 1 client Vigil's p50 is ${fmt((one.vigil.latency.p50Ms - one.constant.latency.p50Ms) * 1000, 0)} µs above the transport's` : ""}.`,
  ].join("\n");
}

interface WorkersRow {
  workers: number;
  measured: Measured;
}

/** The demo model at WORKERS_CLIENTS clients on one serving process and on `manyWorkers`, each in a fresh server, all observability off. */
async function workersComparison(repository: string, names: string[], demo: BenchModel): Promise<WorkersRow[]> {
  const rows: WorkersRow[] = [];
  for (const workers of [1, manyWorkers]) {
    const server = await startServer(repository, names, ALL_OFF, workers);
    try {
      const measured = await load(server.port, demo, demo.name, WORKERS_CLIENTS);
      rows.push({ workers, measured });
      console.log(`${workers} worker(s): ${fmt(measured.qps, 0)} req/s`);
    } finally {
      await stopServer(server.child);
    }
  }
  return rows;
}

function workersReport(rows: WorkersRow[], transport: TransportRow[] | undefined): string {
  const single = rows.find((r) => r.workers === 1)!;
  const ceiling = transport?.reduce((a, b) => Math.max(a, b.constant.qps), 0);
  return [
    `\`vigil serve --workers N\` with the demo model, dynamic batching, all observability off, ${WORKERS_CLIENTS} clients in ${clientProcesses} load-generating process${clientProcesses === 1 ? "" : "es"} on the same host.`,
    "",
    "| workers | throughput (req/s) | p50 (ms) | p99 (ms) | against 1 worker |",
    "|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.workers} | ${fmt(r.measured.qps, 0)} | ${fmt(r.measured.latency.p50Ms, 3)} | ${fmt(r.measured.latency.p99Ms, 3)} | ${fmt(r.measured.qps / single.measured.qps)}x |`,
    ),
    "",
    ceiling
      ? `The same load generator drove ${fmt(ceiling, 0)} req/s against the constant-answer server in this run (one process), so figures near that are bounded by the generator and the shared cores, not by the workers.`
      : "",
  ].join("\n");
}

/** Client counts of the shadow comparison: one client alone, and enough to keep both cores busy. */
const SHADOW_CLIENTS = [1, 64];
/** The demo model's copy that runs a shadow of every request on its version 2 (the same model file). */
const SHADOWED = "flights_shadowed";
/** SHADOWED's config.json `rollout`, as written and as the report quotes it. */
const SHADOW_ROLLOUT = { mode: "shadow", primary: 1, candidate: 2 };

interface ShadowCell {
  qps: number[];
  p50Ms: number[];
  p99Ms: number[];
}

/** Requests one version of a model has run so far (ModelStatistics inference count). */
async function inferencesOf(port: number, model: string, version: string): Promise<number> {
  const client = new GRPCInferenceServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    const stats = await new Promise<ModelStatistics>((resolve, reject) =>
      client.modelStatistics({ name: model, version }, (e, r) => (e ? reject(e) : resolve(r.modelStats[0]!))),
    );
    return Number(stats.inferenceCount);
  } finally {
    client.close();
  }
}

/**
 * The demo model alone against the demo model with a shadow of every request on a copy of
 * itself, both in one server with the prediction log on (shadow rows are part of a shadow's
 * cost), `rounds` interleaved rounds at each client count. Returns the cells and the share of
 * requests whose shadow ran (the rest were skipped past shadow_max_queue).
 */
async function shadowComparison(demo: BenchModel): Promise<{ cells: Map<string, ShadowCell>; shadowShare: number }> {
  const repository = await mkdtemp(join(tmpdir(), "vigil-bench-shadow-"));
  const withShadow = (config: Record<string, unknown>) => {
    config.version_policy = { specific: [1, 2] };
    config.rollout = SHADOW_ROLLOUT;
  };
  try {
    await writeRepository(repository, [
      { name: demo.name, model: demo, change: asIs },
      { name: SHADOWED, model: demo, change: withShadow },
    ]);
    await cp(join(repository, SHADOWED, "1"), join(repository, SHADOWED, "2"), { recursive: true });
    const server = await startServer(repository, [demo.name, SHADOWED], { record: true, traces: false, metrics: false });
    const cells = new Map<string, ShadowCell>();
    try {
      for (let round = 0; round < rounds; round++) {
        for (const clients of SHADOW_CLIENTS) {
          const targets = round % 2 === 0 ? [demo.name, SHADOWED] : [SHADOWED, demo.name];
          for (const target of targets) {
            const measured = await load(server.port, demo, target, clients);
            const key = `${target}\n${clients}`;
            const cell = cells.get(key) ?? { qps: [], p50Ms: [], p99Ms: [] };
            cell.qps.push(measured.qps);
            cell.p50Ms.push(measured.latency.p50Ms);
            cell.p99Ms.push(measured.latency.p99Ms);
            cells.set(key, cell);
            console.log(`shadow round ${round + 1}: ${target} ${clients} clients: ${fmt(measured.qps, 0)} req/s, p99 ${fmt(measured.latency.p99Ms, 3)} ms`);
          }
        }
      }
      const primaryRuns = await inferencesOf(server.port, SHADOWED, "1");
      const shadowRuns = await inferencesOf(server.port, SHADOWED, "2");
      return { cells, shadowShare: shadowRuns / primaryRuns };
    } finally {
      await stopServer(server.child);
    }
  } finally {
    await rm(repository, { recursive: true, force: true });
  }
}

/** The one-minute load average now: other work on the host shows in every figure of a small machine. */
const loadAverageNow = () => `load average ${fmt(loadavg()[0]!, 2)} (1 min) as the section ended`;

function shadowReport(demo: BenchModel, { cells, shadowShare }: Awaited<ReturnType<typeof shadowComparison>>): string {
  const shown = (s: Spread, digits: number) => `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
  const lines = [
    "| clients | shadow | throughput (req/s) | p50 (ms) | p99 (ms) | p99 against no shadow, medians | throughput against no shadow, medians |",
    "|---:|---|---:|---:|---:|---:|---:|",
  ];
  const verdicts: string[] = [];
  for (const clients of SHADOW_CLIENTS) {
    const alone = cells.get(`${demo.name}\n${clients}`)!;
    const shadowed = cells.get(`${SHADOWED}\n${clients}`)!;
    for (const [label, cell] of [
      ["none", alone],
      ["every request", shadowed],
    ] as const) {
      const ratio = (pick: (c: ShadowCell) => number[]) => `${fmt(spread(pick(cell)).median / spread(pick(alone)).median)}x`;
      lines.push(
        `| ${clients} | ${label} | ${shown(spread(cell.qps), 0)} | ${shown(spread(cell.p50Ms), 3)} | ${shown(spread(cell.p99Ms), 3)} | ${cell === alone ? "" : ratio((c) => c.p99Ms)} | ${cell === alone ? "" : ratio((c) => c.qps)} |`,
      );
    }
    const withP99 = spread(shadowed.p99Ms);
    const aloneP99 = spread(alone.p99Ms);
    const p99Ratio = withP99.median / aloneP99.median;
    const overlap = withP99.min <= aloneP99.max && aloneP99.min <= withP99.max;
    verdicts.push(
      `${clients} client${clients === 1 ? "" : "s"}: p99 ${fmt(Math.abs(p99Ratio - 1) * 100, 1)}% ${p99Ratio > 1 ? "above" : "below"} no shadow (target: at most 5% above), ${overlap ? "with overlapping min–max ranges: this run cannot tell the two apart" : "with the ranges apart"}`,
    );
  }
  return [
    `The demo model served alone (\`${demo.name}\`) and with a shadow of every request on a copy of itself (\`${SHADOWED}\`: versions 1 and 2 are the same file, \`rollout\` ${JSON.stringify(SHADOW_ROLLOUT)}), in one server with dynamic batching and the prediction log on (the shadow's rows are written like the primary's), traces and metrics off. ${rounds} interleaved rounds of ${seconds} s at each client count; each cell is the median (min–max) over the rounds. Client latency is the primary's: the client never waits for a shadow.`,
    "",
    ...lines,
    "",
    `Machine load while it ran: ${loadAverageNow()}. ${verdicts.join("; ")}. Shadows ran for ${fmt(shadowShare * 100, 1)}% of the shadowed model's requests (ModelStatistics of version 2 against version 1)${shadowShare < 1 ? "; the rest were skipped at shadow_max_queue" : ""}.`,
    "",
    `What a shadow costs the primary is CPU: its execution, its log rows and its share of the event loop run on the same ${cpus().length} cores as the primary's requests and the load generator. With idle cores that cost hides; where the cores are already busy (many clients on a small machine) the primary loses what the shadow takes.`,
  ].join("\n");
}

async function main(): Promise<void> {
  const models = [await demoModel(), mlpModel()];
  const demo = models[0]!;
  const repository = await mkdtemp(join(tmpdir(), "vigil-bench-"));
  const variants = models.flatMap((model) => [
    { name: model.name, model, change: asIs },
    { name: unbatched(model.name), model, change: noBatching },
  ]);
  await writeRepository(repository, variants);
  const names = variants.map((v) => v.name);

  const raw = new Map<string, RawBaseline>();
  const servedOn = new Map<string, ExecutionProvider>();
  const rows: ServedRow[] = [];
  let floor: Measured | undefined;
  let transport: TransportRow[] | undefined;
  let workers: WorkersRow[] | undefined;
  let observed: Map<string, ObservedCell> | undefined;
  let shadow: Awaited<ReturnType<typeof shadowComparison>> | undefined;
  try {
    if (sections.has("models") || sections.has("transport")) {
      const server = await startServer(repository, names, ALL_OFF);
      try {
        if (sections.has("transport")) transport = await transportComparison(server.port, demo);
        if (sections.has("models")) {
          // The raw baselines run on the provider the server loaded each model on (the demo model
          // prefers CUDA), while that server sits idle.
          for (const model of models) {
            const provider = loadedOn(server.providers, model.name);
            if (loadedOn(server.providers, unbatched(model.name)) !== provider)
              throw new Error(`${model.name}: its batched and unbatched copies loaded on different providers`);
            servedOn.set(model.name, provider);
            raw.set(model.name, await rawBaselines(model, provider));
            console.log(`raw ${model.name} on ${provider}: ${fmt(raw.get(model.name)!.sequential.qps, 0)} req/s sequential`);
          }
          floor = await emptyRpc(server.port);
          for (const model of models) {
            for (const clients of clientCounts) {
              for (const batching of [false, true]) {
                const row = await served(server.port, model, batching ? model.name : unbatched(model.name), clients);
                rows.push({ ...row, model: model.name, batching });
                console.log(
                  `${model.name} ${clients} clients ${batching ? "batching" : "no batching"}: ${fmt(row.qps, 0)} req/s, p99 ${fmt(row.latency.p99Ms)} ms`,
                );
              }
            }
          }
        }
      } finally {
        await stopServer(server.child);
      }
    }
    if (sections.has("workers")) workers = await workersComparison(repository, names, demo);
    if (sections.has("observability")) observed = await observabilityRounds(repository, names, models);
    if (sections.has("shadow")) shadow = await shadowComparison(demo);
  } finally {
    await rm(repository, { recursive: true, force: true });
  }

  const parts: string[] = [
    `Command: \`node --import tsx bench/serving.ts ${process.argv
      .slice(2)
      .map((a) => (/\s/.test(a) ? `"${a}"` : a))
      .join(" ")}\`${reportTitle === "Serving" ? " (`npm run bench` runs it with the defaults)" : ""}.`,
    "",
    `${machineLine()}, onnxruntime-node ${ort.env.versions.common}, ${seconds} s per scenario after 1 s of warm-up, ${new Date().toISOString().slice(0, 10)}.`,
    "",
    `Clients: closed loops in ${clientProcesses} forked load-generating process${clientProcesses === 1 ? "" : "es"} (\`bench/load-client.ts\`), one row per request as raw tensors over one grpc-js channel per process, latency measured at the client; the server (\`vigil serve\`, one worker unless a table says otherwise) runs in its own process with every kind of observability off unless a row says otherwise. Server queue and compute per request come from the server's ModelStatistics (Triton's fields): queue is the wait in the batching queue, compute is input copy + inference + output copy of the batch the request ran in. Raw baselines call \`session.run\` in the benchmark process with the same thread settings (1 intra-op thread), one call at a time: onnxruntime-node runs \`session.run\` synchronously on the event loop, so calls on one session cannot overlap.${floor ? ` Transport floor: an empty RPC (ServerLive) takes ${fmt(floor.latency.p50Ms, 3)} ms at p50, ${fmt(floor.qps, 0)} calls/s one at a time.` : ""} Client and server share the machine's ${cpus().length} cores, so the served rows measure both. Each row is one ${seconds}-second sample.`,
    "",
  ];
  if (transport) parts.push("### Transport limit", "", transportReport(transport), "");
  for (const model of sections.has("models") ? models : []) {
    const r = raw.get(model.name)!;
    const base = r.sequential.qps;
    const modelRows = rows.filter((row) => row.model === model.name);
    parts.push(
      [
        `### ${model.description}`,
        "",
        `Execution provider: ${servedOn.get(model.name)}, the one the server logged loading this model on (\`execution.providers\` ${JSON.stringify((model.config.execution as { providers: string[] }).providers)}); the raw baselines use the same.`,
        "",
        `Raw onnxruntime in this process: batch 1 sequential ${fmt(base, 0)} req/s (p50 ${fmt(r.sequential.latency.p50Ms, 3)} ms); batches of 64 rows ${fmt(r.batch64RowsPerS, 0)} rows/s.`,
        "",
        "| clients | batching | throughput (req/s) | p50 (ms) | p90 (ms) | p99 (ms) | server queue (µs/req) | server compute (µs/req) | mean batch | vs raw batch 1 sequential | vs raw batches of 64 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ...modelRows.map(
          (row) =>
            `| ${row.clients} | ${row.batching ? "dynamic" : "off"} | ${fmt(row.qps, 0)} | ${fmt(row.latency.p50Ms, 3)} | ${fmt(row.latency.p90Ms, 3)} | ${fmt(row.latency.p99Ms, 3)} | ${fmt(row.queueUs, 0)} | ${fmt(row.computeUs, 0)} | ${fmt(row.meanBatch, 1)} | ${fmt(row.qps / base)}x | ${fmt(row.qps / r.batch64RowsPerS)}x |`,
        ),
        "",
        readingNotes(model, modelRows, r, floor!),
        "",
      ].join("\n"),
    );
  }
  if (workers) parts.push("### Workers", "", workersReport(workers, transport), "");
  if (observed) {
    parts.push(
      "### Cost of observability",
      "",
      `Each setting (prediction log into the embedded ClickHouse through the batched writer; traces of five spans per request into otel_traces; the Prometheus metrics) and all off ran ${rounds} times, each time in a fresh server with dynamic batching, interleaved (every other round in reverse order); each cell is the median of ${rounds} samples of ${seconds} s, with their min–max.`,
      "",
      observabilityReport(models, observed),
      "",
    );
  }
  if (shadow) parts.push("### Shadow rollouts", "", shadowReport(demo, shadow), "");
  if (sections.has("gpu")) {
    parts.push(
      "### GPU",
      "",
      hasGpu
        ? await gpuComparison(models[1]!)
        : "No GPU on this machine (nvidia-smi lists none): the CUDA comparison did not run. On a host with an NVIDIA GPU and onnxruntime-node's CUDA binaries installed (README, “GPU hosts”), the same command adds it.",
    );
  }
  const body = parts.join("\n");
  await writeBenchmarkSection(join(root, "docs", "benchmarks.md"), reportTitle, body);
  console.log(body);
}

/** The MLP on the CUDA execution provider against CPU, raw and served, on this host. */
async function gpuComparison(model: BenchModel): Promise<string> {
  const repository = await mkdtemp(join(tmpdir(), "vigil-bench-gpu-"));
  const onCuda = (config: Record<string, unknown>) => {
    (config.execution as Record<string, unknown>).providers = ["cuda"];
  };
  try {
    await writeRepository(repository, [
      { name: "mlp_cpu", model, change: asIs },
      { name: "mlp_cuda", model, change: onCuda },
    ]);
    const rawCpu = await rawBaselines(model, "cpu");
    const rawCuda = await rawBaselines(model, "cuda");
    const server = await startServer(repository, ["mlp_cpu", "mlp_cuda"], ALL_OFF);
    if (server.providers.get("mlp_cuda") !== "cuda") {
      await stopServer(server.child);
      throw new Error(`mlp_cuda loaded on ${server.providers.get("mlp_cuda")}, not cuda: install onnxruntime-node's CUDA binaries (README, GPU hosts)`);
    }
    const lines = [
      `${gpuDescription()}. The MLP with \`execution.providers: ["cuda"]\` against the same model on CPU, same host, same run.`,
      "",
      "| path | CPU (req/s) | CUDA (req/s) | CUDA / CPU |",
      "|---|---:|---:|---:|",
      `| raw onnxruntime, batch 1 sequential | ${fmt(rawCpu.sequential.qps, 0)} | ${fmt(rawCuda.sequential.qps, 0)} | ${fmt(rawCuda.sequential.qps / rawCpu.sequential.qps)}x |`,
      `| raw onnxruntime, batches of 64 (rows/s) | ${fmt(rawCpu.batch64RowsPerS, 0)} | ${fmt(rawCuda.batch64RowsPerS, 0)} | ${fmt(rawCuda.batch64RowsPerS / rawCpu.batch64RowsPerS)}x |`,
    ];
    try {
      for (const clients of [1, 64, 128]) {
        const cpu = await served(server.port, model, "mlp_cpu", clients);
        const cuda = await served(server.port, model, "mlp_cuda", clients);
        lines.push(`| Vigil gRPC, ${clients} clients, dynamic batching | ${fmt(cpu.qps, 0)} | ${fmt(cuda.qps, 0)} | ${fmt(cuda.qps / cpu.qps)}x |`);
      }
    } finally {
      await stopServer(server.child);
    }
    return lines.join("\n");
  } finally {
    await rm(repository, { recursive: true, force: true });
  }
}

await main();

/**
 * Where a request's time goes: runs `vigil serve` (one process) under V8's CPU profiler, drives it
 * with the demo model at a fixed concurrency, and splits the server's main-thread CPU time inside
 * the load window into stages by the code that spent it, per answered request. Each observability
 * setting gets its own server; settings alternate over the rounds so machine noise hits all alike.
 *
 *   node --import tsx bench/request-profile.ts [--seconds 8] [--clients 64] [--rounds 3] [--settings off,on]
 *
 * Prints a Markdown table (median µs per request and the spread over rounds) on stdout.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { credentials } from "@grpc/grpc-js";
import { runLoadgen } from "@vigil/cli";
import { DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME } from "@vigil/demo-model";
import { GRPCInferenceServiceClient, type ModelStatistics } from "@vigil/proto";
import { flag } from "./args.js";
import { serveCommand } from "./serve-command.js";
import { machineLine } from "./machine.js";
import { writeBenchmarkSection } from "./report.js";

const seconds = Number(flag("seconds") ?? 8);
const clients = Number(flag("clients") ?? 64);
const rounds = Number(flag("rounds") ?? 3);
/** With --top N, also the N costliest functions (self time) of each setting's last round, on stderr. */
const top = Number(flag("top") ?? 0);
const root = join(import.meta.dirname, "..");

interface Setting {
  name: string;
  env: Record<string, string>;
}
const SETTINGS: Record<string, Setting> = {
  off: { name: "all off", env: { VIGIL_RECORD_PREDICTIONS: "0", VIGIL_TRACING: "0", VIGIL_METRICS_PORT: "off" } },
  on: { name: "log + traces + metrics", env: { VIGIL_RECORD_PREDICTIONS: "1", VIGIL_TRACING: "1", VIGIL_TRACE_SAMPLE_RATIO: "1", VIGIL_METRICS_PORT: "0" } },
  sampled: {
    name: "log + traces (10%) + metrics",
    env: { VIGIL_RECORD_PREDICTIONS: "1", VIGIL_TRACING: "1", VIGIL_TRACE_SAMPLE_RATIO: "0.1", VIGIL_METRICS_PORT: "0" },
  },
};
const chosen = (flag("settings") ?? "off,on").split(",").map((s) => {
  const setting = SETTINGS[s];
  if (!setting) throw new Error(`--settings: unknown setting ${s}; known: ${Object.keys(SETTINGS).join(", ")}`);
  return setting;
});

/**
 * Stages in the order a request meets them, each recognised by the source file of a sampled
 * frame. Frames that match none (Node internals, builtins such as JSON.stringify) are charged to
 * the nearest caller that matches, so a serialiser's time lands on the code that asked for it.
 */
const STAGES: Array<[stage: string, pattern: RegExp]> = [
  ["protobuf (de)serialisation", /packages\/proto\/src\/gen|@bufbuild|protobufjs|\/long\//],
  ["grpc-js and HTTP/2", /@grpc\/grpc-js|node:internal\/http2|node:http2|node:net|node:internal\/stream_base|node:internal\/streams/],
  ["validation and tensor decode/encode", /packages\/inference\/src\/(tensors|limits|datatype-codecs|request-parameters|classification)\.ts/],
  ["batching (scheduler)", /packages\/inference\/src\/scheduler\.ts/],
  ["model run (onnxruntime binding, tensors in and out)", /packages\/inference\/src\/model-version\.ts|onnxruntime/],
  ["request handling (service.ts)", /packages\/inference\/src\/(service|grpc-server|errors|auth|connections)\.ts/],
  ["prediction-log rows (recorder)", /packages\/inference\/src\/recorder\.ts/],
  ["writer: row serialisation and batching", /packages\/store\/src\/(writer|spool|tables)/],
  ["embedded store inserts (chDB)", /packages\/store\/src\/(embedded|engine|server-engine|store)\.ts|chdb/],
  ["spans (OpenTelemetry, export)", /packages\/inference\/src\/tracing\.ts|@opentelemetry/],
  ["metrics (prom-client)", /packages\/inference\/src\/metrics\.ts|prom-client/],
  ["logging (pino)", /pino/],
  ["garbage collection", /^\(garbage collector\)$/],
];
const OTHER = "other (event loop, promises, Node internals)";
const IDLE = "(idle)";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Microseconds of main-thread CPU per stage, for samples taken between `fromUs` and `toUs` (the profile's clock). */
function stageTimes(profile: CpuProfile, fromUs: number, toUs: number): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOf = new Map<number, string>();
  const resolve = (id: number): string => {
    const known = stageOf.get(id);
    if (known) return known;
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") return IDLE;
    const key = frame.url || frame.functionName;
    const own = STAGES.find(([, pattern]) => pattern.test(key))?.[0];
    const up = parent.get(id);
    const stage = own ?? (up === undefined ? OTHER : resolve(up));
    stageOf.set(id, stage);
    return stage;
  };
  const totals = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if (t < fromUs || t > toUs) continue;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const stage = resolve(profile.samples[i]!);
    totals.set(stage, (totals.get(stage) ?? 0) + dt);
    if (top > 0) {
      const frame = byId.get(profile.samples[i]!)!.callFrame;
      const name = `${stage} · ${frame.functionName || "(anonymous)"} ${frame.url.replace(/^.*\/(node_modules|packages)\//, "")}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + dt);
    }
  }
  if (top > 0) lastTop = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top);
  return totals;
}
let lastTop: Array<[string, number]> = [];

async function startServer(setting: Setting, profileDir: string, dataDir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    serveCommand({ models: DEFAULT_MODEL_REPOSITORY, workers: 1, nodeFlags: ["--cpu-prof", "--cpu-prof-dir", profileDir] }),
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...setting.env, VIGIL_DATA_DIR: join(dataDir, "data"), VIGIL_SPOOL_DIR: join(dataDir, "spool") },
    },
  );
  const lines = createInterface({ input: child.stdout! });
  let port = 0;
  let ready = false;
  for await (const line of lines) {
    const entry = JSON.parse(line) as { msg: string; address?: string };
    if (entry.msg === "gRPC server listening") port = Number(entry.address!.split(":").pop());
    if (entry.msg.startsWith(`model ${DEMO_MODEL_NAME}:`) && entry.msg.includes(" ready on ")) ready = true;
    if (ready && port > 0) break;
  }
  if (!ready || port === 0) throw new Error("vigil serve did not get the demo model ready (see its log above)");
  child.stdout!.resume();
  return { child, port };
}

/** Profile clock: V8 stamps samples with the monotonic clock in µs, the one process.hrtime reads. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

interface Measurement {
  perRequest: Map<string, number>;
  rps: number;
  p50Ms: number;
  /** Rows per model execution over the load window, from ModelStatistics. */
  meanBatch: number;
}

function demoStatistics(target: string): Promise<ModelStatistics> {
  const client = new GRPCInferenceServiceClient(target, credentials.createInsecure());
  return new Promise<ModelStatistics>((resolve, reject) =>
    client.modelStatistics({ name: DEMO_MODEL_NAME, version: "" }, (error, response) => (error ? reject(error) : resolve(response.modelStats[0]!))),
  ).finally(() => client.close());
}

async function measure(setting: Setting): Promise<Measurement> {
  const scratch = await mkdtemp(join(tmpdir(), "vigil-request-profile-"));
  try {
    const { child, port } = await startServer(setting, join(scratch, "profile"), scratch);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const target = `127.0.0.1:${port}`;
    await runLoadgen({ target, model: DEMO_MODEL_NAME, rate: 0, concurrency: clients, requests: 0, durationMs: 1000, batch: 1 });
    const statsBefore = await demoStatistics(target);
    const fromUs = monotonicUs();
    const summary = await runLoadgen({ target, model: DEMO_MODEL_NAME, rate: 0, concurrency: clients, requests: 0, durationMs: seconds * 1000, batch: 1 });
    const toUs = monotonicUs();
    const statsAfter = await demoStatistics(target);
    const meanBatch = Number(statsAfter.inferenceCount - statsBefore.inferenceCount) / Number(statsAfter.executionCount - statsBefore.executionCount);
    child.kill("SIGINT");
    await exited;
    const [file] = await readdir(join(scratch, "profile"));
    const profile = JSON.parse(await readFile(join(scratch, "profile", file!), "utf8")) as CpuProfile;
    const totals = stageTimes(profile, fromUs, toUs);
    const perRequest = new Map([...totals].map(([stage, us]) => [stage, us / summary.ok]));
    for (const [name, us] of lastTop) console.error(`  ${(us / summary.ok).toFixed(2)} µs  ${name}`);
    const measurement = { perRequest, rps: summary.achievedQps, p50Ms: summary.latency.p50Ms, meanBatch };
    // One line per round, for comparing runs of two trees: `grep ^round-json`.
    console.error(`round-json ${JSON.stringify({ setting: setting.name, clients, ...measurement, perRequest: Object.fromEntries(perRequest) })}`);
    return measurement;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const results = new Map<string, Measurement[]>();
for (let round = 0; round < rounds; round++) {
  for (const setting of round % 2 === 0 ? chosen : [...chosen].reverse()) {
    const r = await measure(setting);
    results.set(setting.name, [...(results.get(setting.name) ?? []), r]);
    console.error(`round ${round + 1} ${setting.name}: ${Math.round(r.rps)} req/s`);
  }
}

const stages = [...STAGES.map(([s]) => s), OTHER];
const cell = (xs: number[]) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
const busy = (r: { perRequest: Map<string, number> }) => [...r.perRequest].filter(([s]) => s !== IDLE).reduce((a, [, us]) => a + us, 0);
const row = (label: string, pick: (r: Measurement) => number) => `| ${label} | ${chosen.map((s) => cell(results.get(s.name)!.map(pick))).join(" | ")} |`;
const table = [
  `| stage (µs of server main-thread CPU per request) | ${chosen.map((s) => s.name).join(" | ")} |`,
  `| --- | ${chosen.map(() => "---:").join(" | ")} |`,
  ...stages.map((stage) => row(stage, (r) => r.perRequest.get(stage) ?? 0)),
  row("**total busy**", busy),
  row("idle", (r) => r.perRequest.get(IDLE) ?? 0),
  row("throughput (req/s)", (r) => r.rps),
  row("rows per execution", (r) => r.meanBatch),
  row("client p50 (ms)", (r) => r.p50Ms),
].join("\n");
const body = [
  `Command: \`node --import tsx bench/request-profile.ts ${process.argv.slice(2).join(" ")}\`.`,
  "",
  `${machineLine()}, ${new Date().toISOString().slice(0, 10)}. ${clients} clients (\`vigil loadgen\`'s closed loops over one channel), ${seconds} s per round, ${rounds} round${rounds === 1 ? "" : "s"}, each setting in a server of its own (\`vigil serve --workers 1\`, the demo model, its default eager batching) under V8's CPU profiler; every cell is the median over the rounds with their min–max.`,
  "",
  "Each profiler sample of the server's main thread inside the load window is charged to the first stage whose source file appears in its stack (Node internals and builtins such as `JSON.stringify` are charged to the caller that asked for them), divided by the requests answered. Writer flushes and span export run after the replies of their event-loop turn have left, so their cost is CPU the server spends, not time a request waits.",
  "",
  table,
].join("\n");
await writeBenchmarkSection(join(root, "docs", "benchmarks.md"), "Where a request's time goes", body);
console.log(body);

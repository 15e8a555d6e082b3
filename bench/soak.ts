/**
 * Soak: `vigil up` (the embedded stack: server, prediction log, monitor, alerting, API) under
 * mixed traffic for a long stretch, watched from outside. Its own demo traffic (batch 1, labels
 * for half) plus a second client sending batches of 8 with labels, and a trickle of malformed
 * requests; drift is planted half way. Every 10 s the server's RSS, heap, event-loop lag and
 * writer backlog are sampled; at the end the per-minute traffic, errors and latency come from
 * the monitor API, and the monitor's lateness per window from monitor_results.
 *
 *   node --import tsx bench/soak.ts [--minutes 30] [--rate 50]
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { credentials, status } from "@grpc/grpc-js";
import { parseShift, runLoadgen } from "@vigil/cli";
import type { AlertsResponse, OverviewPoint } from "@vigil/monitor";
import { GRPCInferenceServiceClient, ModelInferRequest } from "@vigil/proto";
import { EmbeddedEngine } from "@vigil/store";
import { flag } from "./args.js";
import { machineLine } from "./machine.js";
import { writeBenchmarkSection } from "./report.js";
import { linearSlope, metric, rssMb, waitForLine } from "./sampling.js";

const minutes = Number(flag("minutes") ?? 30);
const rate = Number(flag("rate") ?? 50);
const BATCH_RATE = 10;
const SAMPLE_MS = 10_000;
const TOKEN = "soak";
const ROOT = join(import.meta.dirname, "..");
const durationMs = minutes * 60_000;
const driftAfterMs = Math.round(durationMs / 2);

interface Sample {
  atMs: number;
  rssMb: number;
  heapMb: number;
  loopLagP99Ms: number;
  writerMemoryRows: number;
  spoolBytes: number;
  monitorStalenessS: number;
}

/** Requests with an input of the wrong width, which the server must refuse with INVALID_ARGUMENT. */
function malformedTraffic(target: string, signal: AbortSignal): Promise<{ sent: number; invalid: number; other: number }> {
  const client = new GRPCInferenceServiceClient(target, credentials.createInsecure());
  const counts = { sent: 0, invalid: 0, other: 0 };
  const request = ModelInferRequest.fromPartial({
    modelName: "flights",
    inputs: [{ name: "features", datatype: "FP32", shape: [1n, 4n], contents: { fp32Contents: [1, 2, 3, 4] } }],
  });
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      counts.sent++;
      client.modelInfer(request, (error) => {
        if (error?.code === status.INVALID_ARGUMENT) counts.invalid++;
        else counts.other++;
      });
    }, 1000);
    signal.addEventListener("abort", () => {
      clearInterval(timer);
      setTimeout(() => {
        client.close();
        resolve(counts);
      }, 2000);
    });
  });
}

const dir = await mkdtemp(join(tmpdir(), "vigil-soak-"));
const dataDir = join(dir, "data");
const lines: string[] = [];
const up = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    join(ROOT, "packages", "cli", "src", "main.ts"),
    "up",
    "--port",
    "0",
    "--api-port",
    "0",
    "--dashboard-port",
    "off",
    "--rate",
    String(rate),
    "--window",
    "1m",
    "--drift-after",
    `${driftAfterMs / 1000}s`,
  ],
  {
    cwd: ROOT,
    env: { ...process.env, VIGIL_DATA_DIR: dataDir, VIGIL_SPOOL_DIR: join(dir, "spool"), VIGIL_METRICS_PORT: "0", VIGIL_API_TOKENS: TOKEN, VIGIL_WORKERS: "1" },
    stdio: ["ignore", "pipe", "inherit"],
  },
);
createInterface({ input: up.stdout! }).on("line", (line) => lines.push(line));
try {
  const grpcTarget = /gRPC \(Open Inference Protocol v2\): (\S+)/.exec(await waitForLine(lines, up, (l) => l.includes("gRPC (Open"), "its gRPC address"))![1]!;
  const metricsUrl = /Prometheus metrics: (\S+)/.exec(await waitForLine(lines, up, (l) => l.includes("Prometheus metrics:"), "its metrics URL"))![1]!;
  const apiUrl = /monitor API: (http:\/\/\S+)\/api\/v1/.exec(await waitForLine(lines, up, (l) => l.includes("monitor API:"), "its API URL"))![1]!;
  await waitForLine(lines, up, (l) => l.startsWith("Press Ctrl-C"), "that it is up");
  const startedMs = Date.now();
  console.log(`soak: ${minutes} min, demo traffic ${rate}/s + batches of 8 at ${BATCH_RATE}/s + 1 malformed/s, drift after ${driftAfterMs / 60_000} min`);

  const stop = new AbortController();
  const batches = runLoadgen({
    target: grpcTarget,
    model: "flights",
    rate: BATCH_RATE,
    concurrency: 4,
    requests: 0,
    durationMs,
    batch: 8,
    labelFraction: 0.5,
    labelDelayMs: 5000,
    shuffle: true,
    drift: ["distance*1.5", "hour+6"].map(parseShift),
    driftAfter: Math.round((driftAfterMs / 1000) * BATCH_RATE),
  });
  const malformed = malformedTraffic(grpcTarget, stop.signal);

  const samples: Sample[] = [];
  while (Date.now() - startedMs < durationMs) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    const text = await (await fetch(metricsUrl)).text();
    const lastSuccess = metric(text, "vigil_monitor_last_success_timestamp_seconds");
    const sample: Sample = {
      atMs: Date.now() - startedMs,
      rssMb: await rssMb(up.pid!),
      heapMb: metric(text, "vigil_nodejs_heap_size_used_bytes") / 2 ** 20,
      loopLagP99Ms: metric(text, "vigil_nodejs_eventloop_lag_p99_seconds") * 1000,
      writerMemoryRows: metric(text, "vigil_store_writer_memory_rows"),
      spoolBytes: metric(text, "vigil_store_writer_spool_bytes"),
      monitorStalenessS: lastSuccess > 0 ? Date.now() / 1000 - lastSuccess : Number.NaN,
    };
    samples.push(sample);
    console.log(
      `soak: ${(sample.atMs / 60_000).toFixed(1)} min, RSS ${sample.rssMb.toFixed(0)} MB, heap ${sample.heapMb.toFixed(0)} MB, loop p99 ${sample.loopLagP99Ms.toFixed(1)} ms, writer ${sample.writerMemoryRows} rows, spool ${sample.spoolBytes} B, monitor ${sample.monitorStalenessS.toFixed(0)} s ago`,
    );
  }
  stop.abort();
  const batchSummary = await batches;
  const malformedCounts = await malformed;
  const endedMs = Date.now();
  // The last minute's rollups and monitor window need a moment after traffic stops.
  await new Promise((r) => setTimeout(r, 75_000));
  const headers = { authorization: `Bearer ${TOKEN}` };
  const range = `from=${new Date(startedMs).toISOString()}&to=${new Date(endedMs).toISOString()}&step=1m`;
  const overview = (await (await fetch(`${apiUrl}/api/v1/overview?${range}`, { headers })).json()) as {
    series: OverviewPoint[];
    totals: { requests: number; errors: number };
  };
  const history = (await (
    await fetch(`${apiUrl}/api/v1/alerts/history?from=${new Date(startedMs).toISOString()}&limit=5000`, { headers })
  ).json()) as AlertsResponse;

  up.kill("SIGINT");
  const exitCode = await new Promise<number | null>((resolve) => up.once("exit", (code) => resolve(code)));
  const demoSummary = lines.find((l) => /^requests {2}\d+/.test(l)) ?? "(no summary printed)";

  const engine = new EmbeddedEngine(dataDir);
  const lateness = await engine.query<{ windows: string; late_p50: number; late_max: number; first: string; last: string }>(
    `SELECT uniqExact(window_end) AS windows, quantileExact(0.5)(late) AS late_p50, max(late) AS late_max, toString(min(window_end)) AS first, toString(max(window_end)) AS last
     FROM (SELECT window_end, min(dateDiff('millisecond', window_end, computed_at)) / 1000 AS late FROM monitor_results WHERE model_name = 'flights' GROUP BY window_end)`,
  );
  const driftWindows = await engine.query<{ t: string; share: number }>(
    `SELECT toString(window_end) AS t, value AS share FROM monitor_results FINAL WHERE kind = 'drift' AND metric = 'dataset_drift_share' AND model_name = 'flights' ORDER BY window_end`,
  );
  const statuses = await engine.query<{ status: string; n: string }>(
    `SELECT status, count() AS n FROM predictions WHERE model_name = 'flights' GROUP BY status ORDER BY status`,
  );
  await engine.close();

  const series = overview.series.filter((p) => p.requests > 0);
  const fullMinutes = series.slice(1, -1);
  const errorMinutes = fullMinutes.filter((p) => p.errors > 0).length;
  const p99s = fullMinutes.map((p) => p.p99Ms ?? 0).sort((a, b) => a - b);
  const rss = samples.map((s) => s.rssMb);
  const half = samples.slice(Math.floor(samples.length / 2));
  const slopeMbPerHour = linearSlope(
    half.map((s) => s.atMs / 3_600_000),
    half.map((s) => s.rssMb),
  );
  const table = fiveMinuteRows(samples, series);
  const driftedAtMin = driftWindows.findIndex((w) => w.share >= 0.5);
  const firstFiring = new Map<string, string>();
  for (const e of [...history].reverse()) if (e.state === "firing" && !firstFiring.has(e.rule)) firstFiring.set(e.rule, e.changedAt);
  const plantedAt = new Date(startedMs + driftAfterMs).toISOString();

  const body = [
    `Command: \`node --import tsx bench/soak.ts --minutes ${minutes}\` (not part of CI or \`npm run bench\`: it takes ${minutes} minutes).`,
    "",
    `${machineLine()}; ${new Date(startedMs).toISOString().slice(0, 16)}Z.`,
    "",
    `\`vigil up\` on the embedded store (server, prediction log, monitor with 1-minute windows, demo alerting, monitor API; no dashboard) for ${minutes} minutes: its demo traffic at ${rate} requests/s (batch 1, labels for half of them after 3 s), a second client sending batches of 8 rows at ${BATCH_RATE} requests/s (labels for half after 5 s), and one malformed request per second (an input of the wrong width). Drift (distance*1.5, hour+6) planted in both after ${driftAfterMs / 60_000} minutes. The stack keeps serving its demo traffic for 75 s after the soak's clock stops, so the last minute's rollups and monitor window are complete before they are read.`,
    "",
    "| figure | value |",
    "|---|---:|",
    `| prediction rows logged (all clients, until the stack stopped), by status | ${statuses.map((s) => `${s.status} ${Number(s.n).toLocaleString("en")}`).join(", ")} |`,
    `| batch client: sent / failed | ${batchSummary.sent.toLocaleString("en")} / ${batchSummary.failed} |`,
    `| malformed requests: sent / refused INVALID_ARGUMENT / other | ${malformedCounts.sent} / ${malformedCounts.invalid} / ${malformedCounts.other} |`,
    `| server-side errors (API overview, whole run) | ${overview.totals.errors} of ${overview.totals.requests.toLocaleString("en")} |`,
    `| minutes with any server-side error | ${errorMinutes} of ${fullMinutes.length} |`,
    `| per-minute p99 latency: median / worst minute | ${fmt(p99s[Math.floor(p99s.length / 2)])} ms / ${fmt(p99s.at(-1))} ms |`,
    `| server RSS: first sample / max / last | ${rss[0]!.toFixed(0)} / ${Math.max(...rss).toFixed(0)} / ${rss.at(-1)!.toFixed(0)} MB |`,
    `| RSS trend over the second half (least squares) | ${slopeMbPerHour.toFixed(1)} MB/hour |`,
    `| heap used: max | ${Math.max(...samples.map((s) => s.heapMb)).toFixed(0)} MB |`,
    `| event-loop lag p99: max sample | ${Math.max(...samples.map((s) => s.loopLagP99Ms)).toFixed(1)} ms |`,
    `| writer backlog: max rows in memory / max spool bytes | ${Math.max(...samples.map((s) => s.writerMemoryRows))} / ${Math.max(...samples.map((s) => s.spoolBytes))} |`,
    `| monitor windows evaluated | ${lateness[0]?.windows ?? 0} (${lateness[0]?.first ?? "-"} to ${lateness[0]?.last ?? "-"}) |`,
    `| monitor lateness (first result after window end): median / max | ${fmt(lateness[0]?.late_p50)} s / ${fmt(lateness[0]?.late_max)} s |`,
    `| drift: first window with dataset drift share ≥ 0.5 | ${driftedAtMin < 0 ? "none" : `${driftWindows[driftedAtMin]!.t} (window ${driftedAtMin + 1} of the run)`} |`,
    `| alerts that fired (first time; drift planted ${plantedAt.slice(11, 19)}Z) | ${firstFiring.size === 0 ? "none" : [...firstFiring].map(([rule, at]) => `${rule} ${at.slice(11, 19)}Z`).join(", ")} |`,
    `| \`vigil up\` exit code after SIGINT | ${exitCode} |`,
    "",
    `Demo traffic summary printed by \`vigil up\`: \`${demoSummary.trim()}\`.`,
    "",
    "| minutes | requests | server errors | worst minute p99 (ms) | RSS at end (MB) | heap at end (MB) | max monitor staleness (s) |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...table,
    "",
    "Lateness is by design at least the monitor's `lag` (10 s here: time for late rows and labels to land); the job ticks every 10 s, so a window's result is due 10–20 s after it ends plus the evaluation itself. Staleness is the time since the last successful evaluation, sampled every 10 s; with 1-minute windows it stays under about 80 s while the monitor keeps up.",
  ].join("\n");
  await writeBenchmarkSection(join(ROOT, "docs", "benchmarks.md"), `Soak: ${minutes} minutes of the embedded stack`, body);
  console.log(body);
} finally {
  if (up.exitCode === null) up.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
}

function fmt(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "-" : value.toFixed(1);
}

function fiveMinuteRows(samples: Sample[], series: OverviewPoint[]): string[] {
  const rows: string[] = [];
  const firstMinute = series.length > 0 ? Date.parse(series[0]!.t) : 0;
  for (let from = 0; from < durationMs; from += 5 * 60_000) {
    const to = Math.min(durationMs, from + 5 * 60_000);
    const inSlice = samples.filter((s) => s.atMs > from && s.atMs <= to);
    const points = series.filter((p) => Date.parse(p.t) - firstMinute >= from && Date.parse(p.t) - firstMinute < to);
    const last = inSlice.at(-1);
    rows.push(
      `| ${from / 60_000}–${to / 60_000} | ${points.reduce((a, p) => a + p.requests, 0).toLocaleString("en")} | ${points.reduce((a, p) => a + p.errors, 0)} | ${fmt(Math.max(...points.map((p) => p.p99Ms ?? 0)))} | ${fmt(last?.rssMb)} | ${fmt(last?.heapMb)} | ${fmt(Math.max(...inSlice.map((s) => s.monitorStalenessS)))} |`,
    );
  }
  return rows;
}

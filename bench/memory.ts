/**
 * Memory under sustained traffic: `vigil serve` with its defaults (embedded store, prediction
 * log, traces, metrics, monitor, API) takes a million requests from 64 closed-loop clients with
 * dynamic batching; its RSS and heap are sampled every 5 s. The question is whether memory
 * levels off (bounded) or keeps climbing (a leak); the answer is the trend over the second half.
 *
 *   node --import tsx bench/memory.ts [--requests 1000000]
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { runLoadgen } from "@vigil/cli";
import { DEFAULT_MODEL_REPOSITORY } from "@vigil/demo-model";
import { flag } from "./args.js";
import { machineLine } from "./machine.js";
import { writeBenchmarkSection } from "./report.js";
import { linearSlope, metric, rssMb, waitForLine } from "./sampling.js";

const requests = Number(flag("requests") ?? 1_000_000);
const ROOT = join(import.meta.dirname, "..");

interface Sample {
  requests: number;
  rssMb: number;
  heapMb: number;
}

const dir = await mkdtemp(join(tmpdir(), "vigil-memory-"));
const lines: string[] = [];
const server = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    join(ROOT, "packages", "cli", "src", "main.ts"),
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--api-port",
    "0",
    "--models",
    DEFAULT_MODEL_REPOSITORY,
  ],
  {
    cwd: ROOT,
    env: {
      ...process.env,
      VIGIL_DATA_DIR: join(dir, "data"),
      VIGIL_SPOOL_DIR: join(dir, "spool"),
      VIGIL_METRICS_PORT: "0",
      VIGIL_API_TOKENS: "memory",
      // One serving process: the figures are one process's memory.
      VIGIL_WORKERS: "1",
      VIGIL_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "inherit"],
  },
);
createInterface({ input: server.stdout! }).on("line", (line) => lines.push(line));
const logged = (msg: string) => (line: string) => line.includes(`"msg":"${msg}`);
try {
  const address = (JSON.parse(await waitForLine(lines, server, logged("gRPC server listening"), "its address")) as { address: string }).address;
  const metricsUrl = (JSON.parse(await waitForLine(lines, server, logged("Prometheus metrics endpoint listening"), "its metrics URL")) as { url: string }).url;
  await waitForLine(lines, server, (l) => /model flights:\d+ ready/.test(l), "the model being ready");

  const samples: Sample[] = [];
  const sample = async (done: number) => {
    const text = await (await fetch(metricsUrl)).text();
    samples.push({ requests: done, rssMb: await rssMb(server.pid!), heapMb: metric(text, "vigil_nodejs_heap_size_used_bytes") / 2 ** 20 });
  };
  await sample(0);
  const started = performance.now();
  let pendingSample: Promise<void> = Promise.resolve();
  const summary = await runLoadgen({
    target: address,
    model: "flights",
    rate: 0,
    concurrency: 64,
    requests,
    durationMs: 0,
    batch: 1,
    progressEveryMs: 5000,
    onProgress: (p) => {
      pendingSample = pendingSample.then(() => sample(p.ok + p.failed));
      console.log(`memory: ${(p.ok + p.failed).toLocaleString("en")} requests, RSS ${samples.at(-1)?.rssMb.toFixed(0)} MB`);
    },
  });
  await pendingSample;
  await sample(summary.sent);
  const seconds = (performance.now() - started) / 1000;
  server.kill("SIGTERM");
  const exitCode = await new Promise<number | null>((resolve) => server.once("exit", (code) => resolve(code)));

  const secondHalf = samples.filter((s) => s.requests >= requests / 2);
  const rssSlope = linearSlope(
    secondHalf.map((s) => s.requests / 100_000),
    secondHalf.map((s) => s.rssMb),
  );
  const heapSlope = linearSlope(
    secondHalf.map((s) => s.requests / 100_000),
    secondHalf.map((s) => s.heapMb),
  );
  const at = (fraction: number) =>
    samples.reduce((best, s) => (Math.abs(s.requests - fraction * requests) < Math.abs(best.requests - fraction * requests) ? s : best));
  const checkpoints = [0, 0.1, 0.25, 0.5, 0.75, 1].map(at);
  const body = [
    `Command: \`node --import tsx bench/memory.ts --requests ${requests}\` (about ${Math.round(seconds / 60)} minutes here; part of \`npm run bench\`).`,
    "",
    `${machineLine()}; ${new Date().toISOString().slice(0, 10)}.`,
    "",
    `\`vigil serve\` with its defaults (embedded store, every request in the prediction log, traces, metrics, the monitor every minute, the monitor API) answered ${summary.ok.toLocaleString("en")} of ${summary.sent.toLocaleString("en")} requests (${summary.failed} failed) from 64 closed-loop clients in ${seconds.toFixed(0)} s (${summary.achievedQps.toFixed(0)} req/s, p99 ${summary.latency.p99Ms.toFixed(1)} ms). The server's RSS includes the embedded ClickHouse engine, its caches and merges.`,
    "",
    "| requests answered | RSS (MB) | JS heap used (MB) |",
    "|---:|---:|---:|",
    ...checkpoints.map((s) => `| ${s.requests.toLocaleString("en")} | ${s.rssMb.toFixed(0)} | ${s.heapMb.toFixed(0)} |`),
    "",
    `| figure | value |`,
    "|---|---:|",
    `| RSS: min / max over the run | ${Math.min(...samples.map((s) => s.rssMb)).toFixed(0)} / ${Math.max(...samples.map((s) => s.rssMb)).toFixed(0)} MB |`,
    `| RSS trend over the second half (least squares) | ${rssSlope.toFixed(1)} MB per 100k requests |`,
    `| heap trend over the second half | ${heapSlope.toFixed(2)} MB per 100k requests |`,
    `| samples | ${samples.length}, every 5 s |`,
    `| exit code after SIGTERM | ${exitCode} |`,
  ].join("\n");
  await writeBenchmarkSection(join(ROOT, "docs", "benchmarks.md"), "Memory over a million requests", body);
  console.log(body);
} finally {
  if (server.exitCode === null) server.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
}

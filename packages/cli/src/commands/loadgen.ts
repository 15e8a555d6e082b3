import { readFileSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import { SingleBar } from "cli-progress";
import { DEMO_MODEL_NAME } from "@vigil/demo-model";
import { type FeatureShift, parseShift } from "../drift-plan.js";
import type { CliEnv } from "../env.js";
import { type LoadgenOptions, formatSummary, runLoadgen } from "../loadgen.js";
import { integer, number } from "../options.js";

interface LoadgenFlags {
  target: string;
  model: string;
  rate: number;
  concurrency: number;
  requests: number;
  duration: number;
  batch: number;
  token?: string;
  tlsCa?: string;
  labelFraction: number;
  labelDelay: number;
  drift: FeatureShift[];
  driftAfter: number;
  shuffle?: boolean;
}

const shiftOption = (v: string, all: FeatureShift[]) => {
  try {
    return [...all, parseShift(v)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

export function registerLoadgen(program: Command, env: CliEnv): void {
  program
    .command("loadgen")
    .description("replay held-out flights against a server and report QPS and latency percentiles")
    .option("-t, --target <host:port>", "inference server", "127.0.0.1:8001")
    .option("--model <name>", "model to call", DEMO_MODEL_NAME)
    .option("-r, --rate <qps>", "requests per second, 0 for as fast as possible", number("rate"), 100)
    .option("--concurrency <n>", "requests in flight at once", integer("concurrency", 1), 8)
    .option("-n, --requests <n>", "stop after this many requests (0: until --duration or Ctrl-C)", integer("requests", 0), 1000)
    .option("-d, --duration <seconds>", "stop after this long (0: no limit)", number("duration"), 0)
    .option("--batch <rows>", "rows per request", integer("batch", 1), 1)
    .option("--token <token>", "bearer token, when the server requires one (or VIGIL_GRPC_CLIENT_TOKEN)")
    .option("--tls-ca <file>", "PEM certificate to trust, for a TLS server")
    .option("--label-fraction <share>", "share of answered requests whose true outcome is sent back as a label (0-1)", number("label-fraction"), 0)
    .option("--label-delay <seconds>", "how long after the answer a label is sent", number("label-delay"), 2)
    .option("--drift <shift>", "plant drift: FEATURE*FACTOR or FEATURE+OFFSET (repeatable), e.g. distance*1.5 hour+3", shiftOption, [] as FeatureShift[])
    .option("--drift-after <requests>", "requests sent unchanged before the drift starts", integer("drift-after", 0), 0)
    .option("--shuffle", "replay the flights in a seeded random order rather than by date")
    .action(async (opts: LoadgenFlags) => {
      const abort = new AbortController();
      process.once("SIGINT", () => abort.abort());
      const interactive = process.stdout.isTTY && opts.requests > 0;
      const bar = interactive ? new SingleBar({ format: "loadgen [{bar}] {value}/{total} requests | {qps} qps | p99 {p99} ms", hideCursor: true }) : undefined;
      bar?.start(opts.requests, 0, { qps: "-", p99: "-" });
      const options: LoadgenOptions = {
        target: opts.target,
        model: opts.model,
        rate: opts.rate,
        concurrency: opts.concurrency,
        requests: opts.requests,
        durationMs: opts.duration * 1000,
        batch: opts.batch,
        token: opts.token ?? env.VIGIL_GRPC_CLIENT_TOKEN,
        tlsCa: opts.tlsCa ? readFileSync(opts.tlsCa) : undefined,
        signal: abort.signal,
        labelFraction: Math.min(1, opts.labelFraction),
        labelDelayMs: opts.labelDelay * 1000,
        drift: opts.drift,
        driftAfter: opts.driftAfter,
        shuffle: opts.shuffle ?? false,
        progressEveryMs: interactive ? 250 : 2000,
        onProgress: (p) => {
          const qps = ((p.ok + p.failed) / p.elapsedMs) * 1000;
          if (bar) bar.update(p.ok + p.failed, { qps: qps.toFixed(0), p99: p.window.p99Ms.toFixed(2) });
          else console.log(`loadgen: ${p.ok + p.failed} done (${p.failed} failed), ${qps.toFixed(1)} qps, p99 ${p.window.p99Ms.toFixed(2)} ms`);
        },
      };
      const summary = await runLoadgen(options);
      bar?.update(summary.sent);
      bar?.stop();
      console.log(formatSummary(summary));
      process.exitCode = summary.failed > 0 ? 1 : 0;
    });
}

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { SingleBar } from "cli-progress";
import { DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME, buildDemoModel } from "@vigil/demo-model";
import { type InferenceServer, type ServerConfigInput, createLogger, loadServerConfig, startInferenceServer } from "@vigil/inference";
import { type FeatureShift, parseShift } from "./drift-plan.js";
import { type LoadgenOptions, formatSummary, runLoadgen } from "./loadgen.js";

const integer = (name: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${value}"`);
  return n;
};
const number = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, got "${value}"`);
  return n;
};

/** Stops the server on the first SIGINT/SIGTERM; a second one exits at once. */
function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`\n${signal}: shutting down gracefully (again to force)\n`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

async function serve(overrides: ServerConfigInput, configFile?: string): Promise<InferenceServer> {
  const config = loadServerConfig({ file: configFile, overrides });
  return startInferenceServer(config, { log: createLogger(config.log_level) });
}

const program = new Command()
  .name("vigil")
  .description("Vigil: serve ML models over the Open Inference Protocol and prove the service is good")
  .showHelpAfterError();

program
  .command("serve")
  .description("run the gRPC inference server over a model repository")
  .option("-c, --config <file>", "server config JSON (fields as in the README); VIGIL_* variables override it")
  .option("--host <host>", "address to listen on")
  .option("-p, --port <port>", "gRPC port (0 picks a free one)", integer("port", 0))
  .option("-m, --models <dir>", "model repository directory")
  .addOption(new Option("--log-level <level>").choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"]))
  .action(async (opts: { config?: string; host?: string; port?: number; models?: string; logLevel?: ServerConfigInput["log_level"] }) => {
    const overrides: ServerConfigInput = {};
    if (opts.host !== undefined) overrides.host = opts.host;
    if (opts.port !== undefined) overrides.port = opts.port;
    if (opts.models !== undefined) overrides.model_repository = opts.models;
    if (opts.logLevel !== undefined) overrides.log_level = opts.logLevel;
    const server = await serve(overrides, opts.config);
    stopOnSignals(() => server.shutdown());
  });

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
  .option("--token <token>", "bearer token, when the server requires one (or VIGIL_TOKEN)")
  .option("--tls-ca <file>", "PEM certificate to trust, for a TLS server")
  .option("--label-fraction <share>", "share of answered requests whose true outcome is sent back as a label (0-1)", number("label-fraction"), 0)
  .option("--label-delay <seconds>", "how long after the answer a label is sent", number("label-delay"), 2)
  .option("--drift <shift>", "plant drift: FEATURE*FACTOR or FEATURE+OFFSET (repeatable), e.g. distance*1.5 hour+3", (v: string, all: FeatureShift[]) => {
    try {
      return [...all, parseShift(v)];
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  }, [] as FeatureShift[])
  .option("--drift-after <requests>", "requests sent unchanged before the drift starts", integer("drift-after", 0), 0)
  .action(async (opts: { target: string; model: string; rate: number; concurrency: number; requests: number; duration: number; batch: number; token?: string; tlsCa?: string; labelFraction: number; labelDelay: number; drift: FeatureShift[]; driftAfter: number }) => {
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
      token: opts.token ?? process.env.VIGIL_TOKEN,
      tlsCa: opts.tlsCa ? readFileSync(opts.tlsCa) : undefined,
      signal: abort.signal,
      labelFraction: Math.min(1, opts.labelFraction),
      labelDelayMs: opts.labelDelay * 1000,
      drift: opts.drift,
      driftAfter: opts.driftAfter,
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

program
  .command("up")
  .description("start the server with the demo model and send it demo traffic until Ctrl-C")
  .option("-p, --port <port>", "gRPC port", integer("port", 0), 8001)
  .option("-r, --rate <qps>", "demo traffic rate", number("rate"), 50)
  .action(async (opts: { port: number; rate: number }) => {
    if (!existsSync(join(DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME, "1", "model.onnx"))) {
      console.log("building the demo model ...");
      await buildDemoModel();
    }
    // Quiet by default so the traffic lines stay readable; VIGIL_LOG_LEVEL (read by the config loader) raises it.
    const server = await serve({ host: "127.0.0.1", port: opts.port, model_repository: DEFAULT_MODEL_REPOSITORY, ...(process.env.VIGIL_LOG_LEVEL ? {} : { log_level: "warn" }) });
    console.log(
      `Vigil is up.\n  gRPC (Open Inference Protocol v2): ${server.address}\n  model repository: ${DEFAULT_MODEL_REPOSITORY}\n` +
        `  prediction log: ${server.store?.engine.location ?? "off"}\n` +
        `  Prometheus metrics: ${server.metricsPort === undefined ? "off" : `http://127.0.0.1:${server.metricsPort}/metrics`}\n` +
        `  demo traffic: held-out March 2001 flights at ${opts.rate} requests/s, true outcomes for half of them 3 s later\nPress Ctrl-C to stop.`,
    );
    const abort = new AbortController();
    const traffic = runLoadgen({
      target: `127.0.0.1:${server.port}`,
      model: DEMO_MODEL_NAME,
      rate: opts.rate,
      concurrency: 16,
      requests: 0,
      durationMs: 0,
      batch: 1,
      signal: abort.signal,
      labelFraction: 0.5,
      labelDelayMs: 3000,
      progressEveryMs: 5000,
      onProgress: (p) =>
        console.log(
          `traffic: ${p.ok} ok, ${p.failed} failed, last 5 s p50 ${p.window.p50Ms.toFixed(2)} ms p99 ${p.window.p99Ms.toFixed(2)} ms`,
        ),
    });
    stopOnSignals(async () => {
      abort.abort();
      console.log(formatSummary(await traffic));
      await server.shutdown();
    });
    await traffic;
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`vigil: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

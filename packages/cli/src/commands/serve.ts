import { type Command, Option } from "commander";
import {
  type InferenceServer,
  LOG_LEVELS,
  type Logger,
  type ServerConfig,
  type ServerConfigInput,
  createLogger,
  isServingWorker,
  loadServerConfig,
  openStoreFor,
  runServingWorker,
  startInferenceServer,
  startWorkerPool,
} from "@vigil/inference";
import { processTelemetry } from "@vigil/inference/otel-sdk";
import { loadAlertingConfig, loadMonitorConfig } from "@vigil/monitor";
import type { CliEnv } from "../env.js";
import { type MonitoringConfig, logGeneratedToken, monitorRepository, monitorServer } from "../monitoring.js";
import { DEFAULT_API_PORT, apiPort, integer } from "../options.js";
import { stopOnSignals } from "../signals.js";

/** Starts an inference server from file < environment < overrides, with its logger. */
export async function startServer(
  env: CliEnv,
  overrides: ServerConfigInput,
  configFile?: string,
): Promise<{ server: InferenceServer; log: Logger; config: ServerConfig }> {
  const config = loadServerConfig({ file: configFile, env: env.serverEnv, overrides });
  const log = createLogger(config.log_level);
  return { server: await startInferenceServer(config, { log }), log, config };
}

interface ServeOptions {
  config?: string;
  host?: string;
  port?: number;
  models?: string;
  logLevel?: ServerConfigInput["log_level"];
  monitorConfig?: string;
  monitor: boolean;
  alertingConfig?: string;
  apiPort: number | "off";
  workers?: number;
}

/**
 * `--workers N` above 1: this process owns the store (the embedded engine allows one process per
 * data directory), the monitoring side and /metrics; N workers serve on the one gRPC port.
 */
async function servePool(config: ServerConfig, log: Logger, monitoringConfig: Omit<MonitoringConfig, "api">, apiPort: number | "off", env: CliEnv) {
  const store = config.record_predictions ? await openStoreFor(config, log) : undefined;
  const pool = await startWorkerPool(config, config.workers, { log, store }).catch(async (error: unknown) => {
    await store?.close();
    throw error;
  });
  const api = apiPort === "off" ? undefined : { host: config.host, port: apiPort, tokens: env.VIGIL_API_TOKENS };
  const monitoring = monitorRepository(store, config.model_repository, { ...monitoringConfig, api }, { log, registry: pool.metricsRegistry });
  void monitoring?.api.then((started) => logGeneratedToken(started, log));
  // The primary's own spans (the monitor API's requests); each worker stores its RPC spans through it.
  const telemetry = processTelemetry();
  telemetry?.configure(config.tracing);
  const detachSpanWriter = store && config.tracing.enabled ? telemetry?.addSpanWriter(store.spans, log) : undefined;
  stopOnSignals(async () => {
    // Workers first: they hand over their last rows while they drain.
    await pool.stop();
    await monitoring?.stop();
    await telemetry?.shutdown();
    detachSpanWriter?.();
    await store?.close();
    log.info("server stopped");
  });
}

export function registerServe(program: Command, env: CliEnv): void {
  program
    .command("serve")
    .description("run the gRPC inference server over a model repository")
    .option("-c, --config <file>", "server config JSON (fields as in the README); VIGIL_* variables override it")
    .option("--host <host>", "address to listen on")
    .option("-p, --port <port>", "gRPC port (0 picks a free one)", integer("port", 0))
    .option("-m, --models <dir>", "model repository directory")
    .option("--monitor-config <file>", "monitor settings JSON: windows, lag, drift thresholds per model and feature (see README)")
    .option("--no-monitor", "do not run the quality and drift monitor in this process")
    .option("--alerting-config <file>", "alert rules, SLOs, receivers and routes (YAML, see README); alerting runs in this process")
    .option("--api-port <port>", `monitor HTTP API port, "off" for none (tokens: VIGIL_API_TOKENS)`, apiPort, DEFAULT_API_PORT)
    .addOption(new Option("--log-level <level>").choices(LOG_LEVELS))
    .option("-w, --workers <n>", "serving processes on the one gRPC port (VIGIL_WORKERS, config workers; default: the cores available)", integer("workers", 1))
    .action(async (opts: ServeOptions) => {
      // The pool's primary starts this program again for each worker.
      if (isServingWorker()) return runServingWorker();
      const overrides: ServerConfigInput = {};
      if (opts.workers !== undefined) overrides.workers = opts.workers;
      if (opts.host !== undefined) overrides.host = opts.host;
      if (opts.port !== undefined) overrides.port = opts.port;
      if (opts.models !== undefined) overrides.model_repository = opts.models;
      if (opts.logLevel !== undefined) overrides.log_level = opts.logLevel;
      const monitor = loadMonitorConfig({ file: opts.monitorConfig, overrides: { enabled: opts.monitor } });
      const alerting = opts.alertingConfig ? loadAlertingConfig(opts.alertingConfig) : undefined;
      const config = loadServerConfig({ file: opts.config, env: env.serverEnv, overrides });
      const log = createLogger(config.log_level);
      if (config.workers > 1) return servePool(config, log, { monitor, alerting }, opts.apiPort, env);
      const server = await startInferenceServer(config, { log });
      const api = opts.apiPort === "off" ? undefined : { host: config.host, port: opts.apiPort, tokens: env.VIGIL_API_TOKENS };
      const monitoring = monitorServer(server, { monitor, alerting, api }, { log });
      void monitoring?.api.then((started) => logGeneratedToken(started, log));
      stopOnSignals(async () => {
        await monitoring?.stop();
        await server.shutdown();
        await processTelemetry()?.shutdown();
      });
    });
}

import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { formatDuration, parseDuration } from "@vigil/config";
import { type Command, InvalidArgumentError } from "commander";
import { createLogger, loadServerConfig } from "@vigil/inference";
import { processTelemetry } from "@vigil/inference/otel-sdk";
import { loadAlertingConfig, loadMonitorConfig, readCatalog } from "@vigil/monitor";
import type { CliEnv } from "../env.js";
import { logGeneratedToken, startMonitoring } from "../monitoring.js";
import { DEFAULT_API_PORT, apiPort } from "../options.js";
import { stopOnSignals } from "../signals.js";
import { openToolStore } from "../tool-store.js";

interface MonitorOptions {
  config?: string;
  models?: string;
  monitorConfig?: string;
  alertingConfig?: string;
  host: string;
  apiPort: number | "off";
  leaseTtl: number | "off";
}

/**
 * How long after a monitor's last write another may wait to see it ended: inserts slower than this
 * do not count as a claim (tables/monitor-lease.ts), and a holder stops acting this long before its lease ends.
 */
const LEASE_SETTLE_MS = 1000;

const leaseTtl = (value: string): number | "off" => {
  if (value === "off") return "off";
  const ms = parseDuration(value);
  if (ms <= 3 * LEASE_SETTLE_MS) throw new InvalidArgumentError(`lease-ttl must be longer than ${formatDuration(3 * LEASE_SETTLE_MS)}, got "${value}"`);
  return ms;
};

export function registerMonitor(program: Command, env: CliEnv): void {
  program
    .command("monitor")
    .description("run the quality and drift monitor on its own, against a ClickHouse server (VIGIL_CLICKHOUSE_URL) the inference servers write to")
    .option("-c, --config <file>", "server config JSON: clickhouse_url, data_dir, model_repository are read from it (VIGIL_* override)")
    .option("-m, --models <dir>", "model repository directory (the models' config.json and reference.jsonl)")
    .option("--monitor-config <file>", "monitor settings JSON (see README)")
    .option("--alerting-config <file>", "alert rules, SLOs, receivers and routes (YAML, see README)")
    .option("--host <host>", "address the monitor API listens on", "127.0.0.1")
    .option("--api-port <port>", `monitor HTTP API port, "off" for none (tokens: VIGIL_API_TOKENS)`, apiPort, DEFAULT_API_PORT)
    .option(
      "--lease-ttl <duration>",
      `of several monitors on one ClickHouse, only the holder of the monitor lease evaluates and alerts; a standby takes over within 4/3 of this plus ${formatDuration(LEASE_SETTLE_MS)} of the holder's end ("off": always evaluate)`,
      leaseTtl,
      15_000,
    )
    .action(async (opts: MonitorOptions) => {
      const config = loadServerConfig({ file: opts.config, env: env.serverEnv, overrides: opts.models ? { model_repository: opts.models } : {} });
      const monitor = loadMonitorConfig({ file: opts.monitorConfig });
      const alerting = opts.alertingConfig ? loadAlertingConfig(opts.alertingConfig) : undefined;
      const log = createLogger(config.log_level);
      processTelemetry()?.configure(config.tracing);
      const engine = await openToolStore(config);
      // The catalog is read again every window; a deprecation is worth one line, not one per window.
      const warned = new Set<string>();
      const warnOnce = (warning: string) => {
        if (!warned.has(warning)) log.warn(warning);
        warned.add(warning);
      };
      const catalog = () => readCatalog(config.model_repository, (error) => log.error({ err: error }, error.message), warnOnce);
      const api = opts.apiPort === "off" ? undefined : { host: opts.host, port: opts.apiPort, tokens: env.VIGIL_API_TOKENS };
      const lease =
        opts.leaseTtl === "off"
          ? undefined
          : { holder: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`, ttlMs: opts.leaseTtl, settleMs: LEASE_SETTLE_MS };
      const monitoring = startMonitoring(engine, catalog, { monitor, alerting, api, lease }, { log, required: true });
      await monitoring.started;
      logGeneratedToken(await monitoring.api, log);
      stopOnSignals(async () => {
        await monitoring.stop();
        await processTelemetry()?.shutdown();
        await engine.close();
      });
    });
}

import type { Command } from "commander";
import { createLogger, loadServerConfig } from "@vigil/inference";
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
}

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
    .action(async (opts: MonitorOptions) => {
      const config = loadServerConfig({ file: opts.config, env: env.serverEnv, overrides: opts.models ? { model_repository: opts.models } : {} });
      const monitor = loadMonitorConfig({ file: opts.monitorConfig });
      const alerting = opts.alertingConfig ? loadAlertingConfig(opts.alertingConfig) : undefined;
      const log = createLogger(config.log_level);
      const engine = await openToolStore(config);
      // The catalog is read again every window; a deprecation is worth one line, not one per window.
      const warned = new Set<string>();
      const warnOnce = (warning: string) => {
        if (!warned.has(warning)) log.warn(warning);
        warned.add(warning);
      };
      const catalog = () => readCatalog(config.model_repository, (error) => log.error({ err: error }, error.message), warnOnce);
      const api = opts.apiPort === "off" ? undefined : { host: opts.host, port: opts.apiPort, tokens: env.VIGIL_API_TOKENS };
      const monitoring = startMonitoring(engine, catalog, { monitor, alerting, api }, { log, required: true });
      await monitoring.started;
      logGeneratedToken(await monitoring.api, log);
      stopOnSignals(async () => {
        await monitoring.stop();
        await engine.close();
      });
    });
}

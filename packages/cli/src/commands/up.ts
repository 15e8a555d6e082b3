import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { parseDuration } from "@vigil/config";
import { DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME, buildDemoModel } from "@vigil/demo-model";
import { REFERENCE_FILE, versionDirectory } from "@vigil/model-repository";
import { processTelemetry } from "@vigil/inference/otel-sdk";
import { OPENAPI_PATH, loadAlertingConfig, loadMonitorConfig } from "@vigil/monitor";
import { startDashboard } from "../dashboard-process.js";
import { parseShift } from "../drift-plan.js";
import type { CliEnv } from "../env.js";
import { formatSummary, runLoadgen } from "../loadgen.js";
import { monitorServer } from "../monitoring.js";
import { DEFAULT_API_PORT, integer, number, portOrOff } from "../options.js";
import { stopOnSignals } from "../signals.js";
import { startServer } from "./serve.js";

/** The alert rules and SLOs `vigil up` runs for the demo model. */
const DEMO_ALERTING = fileURLToPath(new URL("../../demo/alerting.yaml", import.meta.url));

/** The drift `vigil up` plants: longer flights and later departures than the training months. */
const DEMO_DRIFT = ["distance*1.5", "hour+6"];

interface UpOptions {
  port: number;
  rate: number;
  window: string;
  driftAfter: string;
  apiPort: number;
  dashboardPort: number | "off";
}

export function registerUp(program: Command, env: CliEnv): void {
  program
    .command("up")
    .description(
      "the whole stack on the embedded store: the demo model served, the monitor, alerting, the monitor API, the dashboard, and demo traffic with labels and planted drift, until Ctrl-C",
    )
    .option("-p, --port <port>", "gRPC port", integer("port", 0), 8001)
    .option("-r, --rate <qps>", "demo traffic rate", number("rate"), 50)
    .option("--window <duration>", "monitor window (tumbling)", "1m")
    .option("--drift-after <duration>", `plant drift (${DEMO_DRIFT.join(", ")}) after this long; "off" for none`, "3m")
    .option("--api-port <port>", "monitor HTTP API port (0 picks a free one)", integer("api-port", 0), DEFAULT_API_PORT)
    .option("--dashboard-port <port>", 'dashboard port, "off" for none', portOrOff("dashboard-port", 1), 3000)
    .action(async (opts: UpOptions) => {
      const windowMs = parseDuration(opts.window);
      const driftAfterMs = opts.driftAfter === "off" ? undefined : parseDuration(opts.driftAfter);
      const monitor = loadMonitorConfig({ overrides: { window: windowMs, lag: Math.min(10_000, windowMs / 2) } });
      if (!existsSync(join(versionDirectory(join(DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME), 1), REFERENCE_FILE))) {
        console.log("building the demo model ...");
        await buildDemoModel();
      }
      // Quiet by default so the traffic lines stay readable; VIGIL_LOG_LEVEL raises it.
      const quiet = env.VIGIL_LOG_LEVEL === undefined ? { log_level: "warn" as const } : {};
      const { server, log } = await startServer(env, { host: "127.0.0.1", port: opts.port, model_repository: DEFAULT_MODEL_REPOSITORY, ...quiet });
      const printLines = (lines: string[]) => console.log(lines.join("\n"));
      const alerting = loadAlertingConfig(DEMO_ALERTING);
      const monitoring = monitorServer(
        server,
        { monitor, alerting, api: { host: "127.0.0.1", port: opts.apiPort, tokens: env.VIGIL_API_TOKENS } },
        { log, onLines: printLines },
      );
      const api = await monitoring?.api;
      const dashboard =
        api && opts.dashboardPort !== "off"
          ? await startDashboard({
              apiUrl: api.url,
              apiToken: api.token,
              port: opts.dashboardPort,
              host: "127.0.0.1",
              password: env.VIGIL_DASHBOARD_PASSWORD,
              secret: env.VIGIL_DASHBOARD_SECRET,
              onLine: (line) => console.log(line),
            })
          : undefined;
      console.log(
        `Vigil is up.\n  gRPC (Open Inference Protocol v2): ${server.address}\n  model repository: ${DEFAULT_MODEL_REPOSITORY}\n` +
          `  prediction log: ${server.store?.engine.location ?? "off"}\n` +
          `  Prometheus metrics: ${server.metricsPort === undefined ? "off" : `http://127.0.0.1:${server.metricsPort}/metrics`}\n` +
          `  monitor: quality and drift every ${opts.window} against the training months' reference profile\n` +
          `  alerting: rules and SLOs of ${DEMO_ALERTING}, evaluated every 15 s\n` +
          `${api ? `  monitor API: ${api.url}/api/v1 (OpenAPI at ${api.url}${OPENAPI_PATH}), token ${api.generated ? api.token : "from VIGIL_API_TOKENS"}\n` : ""}` +
          `${dashboard ? `  dashboard: ${dashboard.url} (password ${env.VIGIL_DASHBOARD_PASSWORD ? "from VIGIL_DASHBOARD_PASSWORD" : dashboard.password})\n` : ""}` +
          `  demo traffic: held-out March 2001 flights at ${opts.rate} requests/s, true outcomes for half of them 3 s later` +
          `${driftAfterMs === undefined ? "" : `; drift (${DEMO_DRIFT.join(", ")}) planted after ${opts.driftAfter}`}\nPress Ctrl-C to stop.`,
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
        shuffle: true,
        drift: driftAfterMs === undefined ? [] : DEMO_DRIFT.map(parseShift),
        driftAfter: driftAfterMs === undefined ? 0 : Math.round((driftAfterMs / 1000) * opts.rate),
        progressEveryMs: 5000,
        onProgress: (p) =>
          console.log(`traffic: ${p.ok} ok, ${p.failed} failed, last 5 s p50 ${p.window.p50Ms.toFixed(2)} ms p99 ${p.window.p99Ms.toFixed(2)} ms`),
      });
      stopOnSignals(async () => {
        abort.abort();
        console.log(formatSummary(await traffic));
        await dashboard?.stop();
        await monitoring?.stop();
        await server.shutdown();
        await processTelemetry()?.shutdown();
      });
      await traffic;
    });
}

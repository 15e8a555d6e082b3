import { join } from "node:path";

const root = join(import.meta.dirname, "..");

/**
 * The node arguments that start `vigil serve` as the vigil command does (the OpenTelemetry SDK
 * preloaded before grpc-js), on 127.0.0.1, a free port, no monitor and no API, for the
 * benchmarks. `nodeFlags` go before the scripts (a profiler's, say).
 */
export function serveCommand(options: { models: string; workers: number; nodeFlags?: string[] }): string[] {
  return [
    ...(options.nodeFlags ?? []),
    "--import",
    "tsx",
    "--import",
    join(root, "packages/cli/src/telemetry-preload.ts"),
    join(root, "packages/cli/src/main.ts"),
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--models",
    options.models,
    "--log-level",
    "info",
    "--no-monitor",
    "--api-port",
    "off",
    "--workers",
    String(options.workers),
  ];
}

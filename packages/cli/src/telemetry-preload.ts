/**
 * Loaded with `node --import` before the CLI, so the OpenTelemetry SDK is running before grpc-js,
 * http, Fastify and pino are loaded (instrumentations patch modules as they load; anything loaded
 * earlier goes untraced). Only the long-running commands get the SDK: the tools (loadgen, report,
 * profile, silence) would pay for spans nobody keeps.
 */
import { startProcessTelemetry } from "@vigil/inference/otel-sdk";

/** The default service.name of each command that runs one; OTEL_SERVICE_NAME overrides it. */
const SERVICE_NAMES: Record<string, string> = { serve: "vigil-inference", up: "vigil-inference", monitor: "vigil-monitor" };

const command = process.argv.slice(2).find((arg) => !arg.startsWith("-"));
const serviceName = command === undefined ? undefined : SERVICE_NAMES[command];
if (serviceName && process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== "true") startProcessTelemetry(serviceName);

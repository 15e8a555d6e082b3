#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so the workspace needs no separate compile step.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const tsx = require.resolve("tsx");
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
// The OpenTelemetry SDK starts before the CLI loads grpc-js, http and pino, or they go untraced.
const telemetry = new URL("../src/telemetry-preload.ts", import.meta.url).href;
const child = spawn(process.execPath, ["--import", tsx, "--import", telemetry, main, ...process.argv.slice(2)], { stdio: "inherit" });
// A terminal's Ctrl-C reaches the whole process group, child included; a SIGTERM or SIGHUP sent
// to this wrapper alone (a process manager) is passed on, so the CLI still shuts down gracefully.
process.on("SIGINT", () => {});
for (const signal of ["SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));

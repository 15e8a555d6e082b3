import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { after, before } from "node:test";
import { addDemoModel, tempRepository } from "./models.js";
import { type ProcessOwner, type StartedProcess, startProcess } from "./processes.js";
import { eventually, tempDir } from "./store.js";

export const VIGIL_MAIN = join(import.meta.dirname, "..", "..", "packages", "cli", "src", "main.ts");
/** Loaded before the CLI, as the `vigil` bin does, so the OpenTelemetry SDK is started before grpc-js. */
export const VIGIL_TELEMETRY_PRELOAD = join(import.meta.dirname, "..", "..", "packages", "cli", "src", "telemetry-preload.ts");

export type LogLine = Record<string, unknown>;

/** A stream that parses the JSON log lines written to it into `lines`. */
export function jsonLineSink(lines: LogLine[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
}

export interface VigilProcess extends StartedProcess {
  child: ChildProcess;
  /** The JSON log lines it has written to stdout so far. */
  logs: LogLine[];
}

/**
 * Runs `vigil <args>` in its own process, collecting its JSON logs; stderr is passed through, or
 * handed line by line to `stderr`. Started inside a test, pass its context as the owner: the
 * process is stopped when the test ends.
 */
export function spawnVigil(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { owner?: ProcessOwner; cwd?: string; stderr?: (line: string) => void } = {},
): VigilProcess {
  const started = startProcess(process.execPath, ["--import", "tsx", "--import", VIGIL_TELEMETRY_PRELOAD, VIGIL_MAIN, ...args], {
    // One serving process unless the test asks for workers: the default (the cores available) would make every test a pool.
    env: { VIGIL_WORKERS: "1", ...env },
    cwd: options.cwd,
    stdio: ["ignore", "pipe", options.stderr ? "pipe" : "inherit"],
    owner: options.owner,
  });
  const logs: LogLine[] = [];
  createInterface({ input: started.child.stdout! }).on("line", (line) => {
    if (line.startsWith("{")) logs.push(JSON.parse(line) as LogLine);
  });
  if (options.stderr) createInterface({ input: started.child.stderr! }).on("line", options.stderr);
  return { ...started, logs };
}

/** A suite's scratch directory and a model repository holding the demo model, made in `before` and removed in `after`. */
export function demoWorkspace(prefix: string): { readonly dir: string; readonly repository: string } {
  let dirs: Awaited<ReturnType<typeof tempDir>> | undefined;
  let repo: Awaited<ReturnType<typeof tempRepository>> | undefined;
  before(async () => {
    dirs = await tempDir(prefix);
    repo = await tempRepository();
    await addDemoModel(repo.path);
  });
  after(async () => {
    await repo?.remove();
    await dirs?.remove();
  });
  const made = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the workspace is made in a before hook; use it inside tests");
    return value;
  };
  return {
    get dir() {
      return made(dirs).path;
    },
    get repository() {
      return made(repo).path;
    },
  };
}

/**
 * `vigil serve` with `env` (VIGIL_* variables pick its store, repository and ports), resolved once
 * it listens and the demo model is ready; `address` is where its gRPC server listens.
 */
export async function serveDemo(
  env: NodeJS.ProcessEnv,
  options: { owner?: ProcessOwner; args?: string[]; stderr?: (line: string) => void } = {},
): Promise<VigilProcess & { address: string }> {
  const serve = spawnVigil(
    ["serve", "--port", "0", "--no-monitor", "--api-port", "off", ...(options.args ?? [])],
    { VIGIL_GRPC_HOST: "127.0.0.1", ...env },
    options,
  );
  const listening = await eventually(async () => serve.logs.find((l) => l.msg === "gRPC server listening"), Boolean, "the server to listen", 60_000);
  await eventually(
    async () => serve.logs.some((l) => l.model === "flights" && String(l.msg).endsWith(`ready on ${String(l.provider)}`)),
    Boolean,
    "the demo model to load",
    60_000,
  );
  return { ...serve, address: listening!.address as string };
}

/** The variables that put a `vigil` process's embedded store and its spool under `dir`. */
export function storeEnv(dir: string): { VIGIL_DATA_DIR: string; VIGIL_SPOOL_DIR: string } {
  return { VIGIL_DATA_DIR: join(dir, "data"), VIGIL_SPOOL_DIR: join(dir, "spool") };
}

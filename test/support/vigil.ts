import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { type ProcessOwner, type StartedProcess, startProcess } from "./processes.js";

export const VIGIL_MAIN = join(import.meta.dirname, "..", "..", "packages", "cli", "src", "main.ts");

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
export function spawnVigil(args: string[], env: NodeJS.ProcessEnv, options: { owner?: ProcessOwner; cwd?: string; stderr?: (line: string) => void } = {}): VigilProcess {
  const started = startProcess(process.execPath, ["--import", "tsx", VIGIL_MAIN, ...args], {
    env,
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

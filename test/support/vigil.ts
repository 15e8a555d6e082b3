import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";

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

export interface VigilProcess {
  child: ChildProcess;
  /** The JSON log lines it has written to stdout so far. */
  logs: LogLine[];
  exited: Promise<number | null>;
}

/** Runs `vigil <args>` in its own process (stderr passed through), collecting its JSON logs. */
export function spawnVigil(args: string[], env: NodeJS.ProcessEnv, cwd?: string): VigilProcess {
  const child = spawn(process.execPath, ["--import", "tsx", VIGIL_MAIN, ...args], { env, cwd, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const logs: LogLine[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (line.startsWith("{")) logs.push(JSON.parse(line) as LogLine);
  });
  return { child, logs, exited };
}

import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";

/**
 * Every process a test starts goes through `startProcess`, so none can outlive its test:
 * - started inside a test, its owner (the test's context) stops it when that test ends, however
 *   it ends (pass, failure, timeout); started in a suite's `before`, the suite's `after` stops it
 *   (node:test's `after` called inside `before` would run at once, so suites pass no owner);
 * - whatever is still running when a test file's tests are done is killed (setup.ts, which the
 *   test command preloads, calls `killAllProcesses`), and so is anything left at exit.
 */
const running = new Set<ChildProcess>();

export function killAllProcesses(): void {
  for (const child of running) child.kill("SIGKILL");
}

process.on("exit", killAllProcesses);

/** Something that runs a function when a test ends: node:test's `TestContext`. */
export interface ProcessOwner {
  after(fn: () => Promise<void>): void;
}

export interface StartedProcess {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<number | null>;
  /** Sends `signal` and waits for the exit; escalates to SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

/** How long a process may take to stop after SIGTERM before it is killed outright. */
const STOP_GRACE_MS = 20_000;

export function startProcess(command: string, args: string[], options: SpawnOptions & { owner?: ProcessOwner } = {}): StartedProcess {
  const { owner, ...spawnOptions } = options;
  const child = spawn(command, args, spawnOptions);
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const stop = async (signal: NodeJS.Signals = "SIGTERM", graceMs = STOP_GRACE_MS): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  owner?.after(async () => {
    await stop();
  });
  return { child, exited, stop };
}

import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";

export interface ClickHouseHttp {
  url: string;
  port: number;
  /** Kills the server process (the engine goes away mid-traffic, as in an outage). */
  kill(): Promise<void>;
  /** Stops it gracefully. */
  stop(): Promise<void>;
}

/** Starts the test harness's ClickHouse HTTP interface over a data directory in a child process. */
export async function startClickHouseHttp(dataDir: string, port = 0, credentials = { user: "vigil", password: "test-password" }): Promise<ClickHouseHttp> {
  const script = join(import.meta.dirname, "clickhouse-http-server.ts");
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", script, dataDir, String(port), credentials.user, credentials.password], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const bound = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`ClickHouse HTTP harness exited with ${code} before listening`)));
    lines.once("line", (line) => resolve(Number(/^listening (\d+)$/.exec(line)?.[1])));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    url: `http://${credentials.user}:${credentials.password}@127.0.0.1:${bound}/default`,
    port: bound,
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

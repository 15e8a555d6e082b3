import { createInterface } from "node:readline";
import { join } from "node:path";
import { type ProcessOwner, startProcess } from "./processes.js";

export interface ClickHouseHttp {
  url: string;
  port: number;
  /** Kills the server process (the engine goes away mid-traffic, as in an outage). */
  kill(): Promise<void>;
  /** Stops it gracefully. */
  stop(): Promise<void>;
}

/** Starts the test harness's ClickHouse HTTP interface over a data directory in a child process. */
export async function startClickHouseHttp(
  dataDir: string,
  {
    owner,
    port = 0,
    credentials = { user: "vigil", password: "test-password" },
  }: { owner?: ProcessOwner; port?: number; credentials?: { user: string; password: string } } = {},
): Promise<ClickHouseHttp> {
  const script = join(import.meta.dirname, "clickhouse-http-server.ts");
  const { child, stop } = startProcess(process.execPath, ["--import", "tsx", script, dataDir, String(port), credentials.user, credentials.password], {
    stdio: ["ignore", "pipe", "inherit"],
    owner,
  });
  const lines = createInterface({ input: child.stdout! });
  const bound = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`ClickHouse HTTP harness exited with ${code} before listening`)));
    lines.once("line", (line) => resolve(Number(/^listening (\d+)$/.exec(line)?.[1])));
  });
  return {
    url: `http://${credentials.user}:${credentials.password}@127.0.0.1:${bound}/default`,
    port: bound,
    kill: async () => {
      await stop("SIGKILL");
    },
    stop: async () => {
      await stop();
    },
  };
}

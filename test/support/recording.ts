import { Writable } from "node:stream";
import { type Logger, pino } from "pino";
import { Store, type StoreEngine } from "@vigil/store";
import { quietLog } from "./store.js";

/** A store for tests: small batches and quick retries so outages and restarts play out in seconds. */
export function openTestStore(
  paths: { dataDir: string; spoolDir: string; clickhouseUrl?: string; log?: Logger },
  writer: Parameters<typeof Store.open>[0]["writer"] = {},
  engine?: StoreEngine,
): Promise<Store> {
  return Store.open({
    ...paths,
    retention: { predictionsDays: 30, tracesDays: 7 },
    log: paths.log ?? quietLog,
    writer: { maxBatchRows: 200, maxBatchAgeMs: 50, retryInitialMs: 100, retryMaxMs: 400, ...writer },
    ...(engine ? { engine } : {}),
  });
}

export async function countRows(engine: StoreEngine, where = "1", params: Record<string, unknown> = {}): Promise<number> {
  const [row] = await engine.query<{ n: string }>(`SELECT count() AS n FROM predictions WHERE ${where}`, params);
  return Number(row!.n);
}

/** A logger whose JSON lines land in `lines`, for assertions on what was reported. */
export function capturingLog(lines: Array<Record<string, unknown>>): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: "info" }, sink);
}

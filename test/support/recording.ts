import { type Logger, pino } from "pino";
import { Store, type StoreEngine } from "@vigil/store";
import { quietLog } from "./store.js";
import { type LogLine, jsonLineSink } from "./vigil.js";

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
export function capturingLog(lines: LogLine[]): Logger {
  return pino({ level: "info" }, jsonLineSink(lines));
}

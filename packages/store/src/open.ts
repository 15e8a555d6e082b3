import { EmbeddedEngine } from "./embedded.js";
import type { StoreEngine } from "./engine.js";
import { ServerEngine } from "./server-engine.js";

export interface StoreLocation {
  /** A ClickHouse server URL; when absent the embedded engine is used. */
  clickhouseUrl?: string;
  /** The embedded engine's data directory. */
  dataDir: string;
}

/** The embedded engine unless a ClickHouse URL is given (VIGIL_CLICKHOUSE_URL). */
export function openEngine(location: StoreLocation): StoreEngine {
  return location.clickhouseUrl ? new ServerEngine({ url: location.clickhouseUrl }) : new EmbeddedEngine(location.dataDir);
}

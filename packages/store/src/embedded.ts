import { resolve } from "node:path";
import { Session, drainPending } from "chdb";
import { armExitWatchdog } from "./exit-watchdog.js";
import { ensurePrivateDirectory } from "./private-files.js";
import { type InsertOptions, type QueryParams, type StoreEngine, StoreQueryError, parseJsonLines } from "./engine.js";

/**
 * ClickHouse in-process through chDB. Facts that shape this class (measured, see README):
 * - libchdb binds one data directory per process; opening a second path throws. So the
 *   session is shared per process and a different path is refused with a clear error.
 * - The async API runs queries off the event loop, but one session executes one query at a
 *   time: concurrent calls queue. Long selects therefore delay inserts; the batched writer
 *   absorbs that latency, and nothing here uses the blocking sync API.
 * - `Session.close()` returns while a query may still run on a libuv thread, and libchdb's
 *   exit handlers deadlock if the process exits then (seen: `process.exit()` stuck in
 *   `pthread_mutex_lock` inside libchdb). So close waits for chDB's native work to drain, and
 *   every process that opened the engine is killed by a watchdog if its exit still hangs.
 */
let shared: { path: string; session: Session; users: number } | undefined;

/** How long native work may take to drain on close before the engine is abandoned to the exit watchdog. */
const DRAIN_TIMEOUT_MS = 10_000;
/** How long the process may take to exit once it has begun to; past it, the engine's teardown is hung. */
const EXIT_GRACE_MS = 5_000;

function toStoreError(error: unknown): Error {
  const e = error as { message?: string; clickhouseCode?: number };
  return new StoreQueryError(e.message ?? String(error), e.clickhouseCode);
}

/**
 * A chDB session on a data directory. chDB reports a directory locked by another process only as
 * a failed connection, so the message names that likely cause and what to do about it.
 */
function openSession(path: string): Session {
  try {
    return new Session(path);
  } catch (error) {
    throw new Error(
      `cannot open the embedded store at ${path} (${(error as Error).message}); if another process (a running "vigil up" or "vigil serve") uses it, ` +
        "stop that first, or run ClickHouse as a server (VIGIL_CLICKHOUSE_URL) so several processes can share the data",
      { cause: error },
    );
  }
}

export class EmbeddedEngine implements StoreEngine {
  readonly kind = "embedded" as const;
  readonly location: string;
  private closed = false;

  constructor(dataDir: string) {
    const path = resolve(dataDir);
    if (shared && shared.path !== path) {
      throw new Error(
        `the embedded ClickHouse (chDB) is already open on ${shared.path} in this process; it serves one data directory per process, so ${path} cannot be opened too`,
      );
    }
    if (!shared) {
      ensurePrivateDirectory(path);
      armExitWatchdog(EXIT_GRACE_MS, "the embedded ClickHouse (chDB)");
      shared = { path, session: openSession(path), users: 0 };
    }
    shared.users++;
    this.location = `embedded chDB at ${path}`;
  }

  private get session(): Session {
    if (this.closed || !shared) throw new Error(`${this.location} is closed`);
    return shared.session;
  }

  async command(sql: string, params: QueryParams = {}): Promise<void> {
    await this.session.queryBindAsync(sql, params).catch((e: unknown) => Promise.reject(toStoreError(e)));
  }

  async query<T>(sql: string, params: QueryParams = {}): Promise<T[]> {
    const result = await this.session.queryBindAsync(sql, params, { format: "JSONEachRow" }).catch((e: unknown) => Promise.reject(toStoreError(e)));
    return parseJsonLines<T>(result.text());
  }

  async *stream<T>(sql: string, params: QueryParams = {}): AsyncIterable<T[]> {
    const chunks = this.session.queryStreamBind(sql, params, { format: "JSONEachRow" });
    try {
      for await (const chunk of chunks) yield chunk.rows<T>();
    } catch (error) {
      throw toStoreError(error);
    }
  }

  async insertJsonLines(table: string, body: Buffer, options: InsertOptions = {}): Promise<void> {
    const settings: Record<string, string | number> = { deduplicate_blocks_in_dependent_materialized_views: 1 };
    if (options.deduplicationToken) settings.insert_deduplication_token = options.deduplicationToken;
    await this.session.insert({ table, values: body, format: "JSONEachRow", settings }).catch((e: unknown) => Promise.reject(toStoreError(e)));
  }

  async ping(): Promise<void> {
    await this.query("SELECT 1");
  }

  async close(): Promise<void> {
    if (this.closed || !shared) return;
    this.closed = true;
    shared.users--;
    if (shared.users === 0) {
      shared.session.close();
      shared = undefined;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((done) => {
        timer = setTimeout(() => done("timeout"), DRAIN_TIMEOUT_MS);
      });
      const outcome = await Promise.race([drainPending().then(() => "drained" as const), timedOut]);
      clearTimeout(timer);
      if (outcome === "timeout")
        process.emitWarning(`${this.location}: native queries still running ${DRAIN_TIMEOUT_MS} ms after close`, { code: "VIGIL_CHDB_DRAIN" });
    }
  }
}

import { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { type ClickHouseClient, ClickHouseError, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { type InsertOptions, type QueryParams, type StoreEngine, StoreQueryError, StoreUnavailableError } from "./engine.js";

export interface ServerEngineOptions {
  /** http(s)://user:password@host:8123/database */
  url: string;
  requestTimeoutMs?: number;
  /** Attempts for reads and pings on connection failures; inserts are retried by the writer. */
  readAttempts?: number;
}

/** Connection-level failures worth retrying; anything ClickHouse itself answered is not. */
function isUnavailable(error: unknown): boolean {
  if (error instanceof ClickHouseError) return false;
  const e = error as { code?: string; message?: string };
  return (
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "UND_ERR_SOCKET"].includes(e.code ?? "") ||
    /socket hang up|timeout|ECONNREFUSED|ECONNRESET/i.test(e.message ?? "")
  );
}

/**
 * A ClickHouse server over HTTP through @clickhouse/client. Settings chosen on purpose:
 * gzip both ways (prediction rows compress about 10x), keep-alive with an idle TTL below the
 * server's default keep_alive_timeout (3 s) so a reused socket is never one the server closed,
 * a request timeout, and bounded retries with backoff for reads.
 */
export class ServerEngine implements StoreEngine {
  readonly kind = "server" as const;
  readonly location: string;
  private readonly client: ClickHouseClient;
  private readonly readAttempts: number;

  constructor(options: ServerEngineOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new Error(`VIGIL_CLICKHOUSE_URL "${options.url.replace(/\/\/[^@]*@/, "//***@")}" is not a URL like http://user:password@host:8123/database`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`ClickHouse URL must be http or https, got ${url.protocol}`);
    const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || "default";
    this.location = `ClickHouse at ${url.protocol}//${url.host}/${database}`;
    this.readAttempts = options.readAttempts ?? 3;
    this.client = createClient({
      url: `${url.protocol}//${url.host}`,
      username: decodeURIComponent(url.username) || "default",
      password: decodeURIComponent(url.password),
      database,
      compression: { request: true, response: true },
      keep_alive: { enabled: true, idle_socket_ttl: 2500 },
      request_timeout: options.requestTimeoutMs ?? 30_000,
      max_open_connections: 10,
      application: "vigil",
      // Failures surface as StoreUnavailableError / StoreQueryError and are logged once per outage by
      // their caller; the client's own log would print every failed request to stderr.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  private async withRetry<T>(what: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        if (!isUnavailable(error)) throw this.translate(error);
        if (attempt >= this.readAttempts)
          throw new StoreUnavailableError(`${this.location} unreachable (${what}): ${(error as Error).message}`, { cause: error });
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }

  private translate(error: unknown): Error {
    if (error instanceof ClickHouseError) return new StoreQueryError(error.message, Number(error.code));
    if (isUnavailable(error)) return new StoreUnavailableError(`${this.location} unreachable: ${(error as Error).message}`, { cause: error });
    return error as Error;
  }

  async command(sql: string, params: QueryParams = {}): Promise<void> {
    try {
      await this.client.command({ query: sql, query_params: params });
    } catch (error) {
      throw this.translate(error);
    }
  }

  query<T>(sql: string, params: QueryParams = {}): Promise<T[]> {
    return this.withRetry("query", async () => {
      const result = await this.client.query({ query: sql, query_params: params, format: "JSONEachRow" });
      return result.json<T>();
    });
  }

  async *stream<T>(sql: string, params: QueryParams = {}): AsyncIterable<T[]> {
    const result = await this.withRetry("stream", () => this.client.query({ query: sql, query_params: params, format: "JSONEachRow" }));
    try {
      for await (const rows of result.stream<T>()) yield rows.map((row) => row.json<T>());
    } catch (error) {
      throw this.translate(error);
    }
  }

  /**
   * Sends the JSON lines as the request body as they are. (`client.insert` with a JSON format
   * treats stream chunks as row objects and would serialise the Buffer itself.)
   */
  async insertJsonLines(table: string, body: Buffer, options: InsertOptions = {}): Promise<void> {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new Error(`"${table}" is not a table name`);
    try {
      const result = await this.client.exec({
        query: `INSERT INTO ${table} FORMAT JSONEachRow`,
        values: Readable.from([body]),
        clickhouse_settings: {
          deduplicate_blocks_in_dependent_materialized_views: 1,
          ...(options.deduplicationToken ? { insert_deduplication_token: options.deduplicationToken } : {}),
        },
      });
      result.stream.resume();
      await finished(result.stream);
    } catch (error) {
      throw this.translate(error);
    }
  }

  async ping(): Promise<void> {
    await this.withRetry("ping", async () => {
      const result = await this.client.ping();
      if (!result.success) throw result.error;
    });
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

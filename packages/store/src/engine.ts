/** Values bound to `{name:Type}` placeholders; they never enter the SQL text. */
export type QueryParams = Record<string, unknown>;

export interface InsertOptions {
  /** Makes a retried insert of the same batch a no-op (tables keep a deduplication window). */
  deduplicationToken?: string;
}

/**
 * The one interface both engines implement: statements and selects with bound parameters,
 * streamed selects, and inserts of JSON lines. All SQL is ClickHouse SQL.
 */
export interface StoreEngine {
  readonly kind: "embedded" | "server";
  /** Where the data lives, for logs and errors (never includes credentials). */
  readonly location: string;
  command(sql: string, params?: QueryParams): Promise<void>;
  query<T>(sql: string, params?: QueryParams): Promise<T[]>;
  /** Rows in chunks, for results too large to hold at once. */
  stream<T>(sql: string, params?: QueryParams): AsyncIterable<T[]>;
  /** Inserts newline-separated JSON objects (JSONEachRow). */
  insertJsonLines(table: string, body: Buffer, options?: InsertOptions): Promise<void>;
  /** Resolves when the engine answers a trivial query; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The engine could not be reached or did not answer; the operation may succeed later. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

/** ClickHouse refused the statement itself (syntax, unknown table, type error): retrying will not help. */
export class StoreQueryError extends Error {
  constructor(
    message: string,
    readonly clickhouseCode: number | undefined,
  ) {
    super(message);
    this.name = "StoreQueryError";
  }
}

export function parseJsonLines<T>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split("\n")) if (line.length > 0) rows.push(JSON.parse(line) as T);
  return rows;
}

import { z } from "zod";
import type { StoreEngine } from "../engine.js";

/** "YYYY-MM-DD hh:mm:ss" of an epoch second, remembered for the last second asked: rows arrive in bursts within one. */
let cachedSecond = Number.NaN;
let cachedText = "";
function secondText(second: number): string {
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedText = new Date(second * 1000).toISOString().slice(0, 19).replace("T", " ");
  }
  return cachedText;
}

/** An ISO 8601 time from ClickHouse's text form of a DateTime64 in UTC ("2026-11-23 10:00:00.123"). */
export function isoFromClickHouse(text: string): string {
  return new Date(`${text.replace(" ", "T")}Z`).toISOString();
}

/** ClickHouse's DateTime64(6) text form, in UTC: 2026-11-23 08:30:00.123456 */
export function formatDateTime64(us: number): string {
  const second = Math.floor(us / 1_000_000);
  return `${secondText(second)}.${String(us - second * 1_000_000).padStart(6, "0")}`;
}

/** ClickHouse's DateTime64(3) text form of epoch milliseconds, the precision of the monitor's and alerting's tables. */
export const formatDateTime64Millis = (ms: number): string => formatDateTime64(Math.round(ms * 1000)).slice(0, 23);

/** ClickHouse's DateTime64(9) text form, in UTC. */
export function formatDateTime64Nanos(ns: bigint): string {
  const second = ns / 1_000_000_000n;
  return `${secondText(Number(second))}.${String(ns - second * 1_000_000_000n).padStart(9, "0")}`;
}

/** RFC 3339 in UTC with every nanosecond: 2026-11-23T08:30:00.123456789Z */
export function rfc3339OfNanos(ns: bigint): string {
  const second = ns / 1_000_000_000n;
  return `${new Date(Number(second) * 1000).toISOString().slice(0, 19)}.${String(ns - second * 1_000_000_000n).padStart(9, "0")}Z`;
}

/** How a float column is written: a number, or ClickHouse's spelling of NaN and the infinities. */
export const floatColumn = z.union([z.number(), z.enum(["nan", "inf", "-inf"])]);

/** A float for a JSONEachRow insert: JSON has no NaN or infinities, ClickHouse reads them as these strings. */
export const clickHouseFloat = (v: number): z.infer<typeof floatColumn> => (Number.isFinite(v) ? v : Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf");
/** A DateTime64 column written in its text form. */
export const dateTimeColumn = z.string();

/**
 * Read-side decoders. 64-bit integers come back as numbers or strings depending on the engine's
 * JSON settings, and non-finite floats as null, so reads accept both and hand out plain numbers.
 */
export const countValue = z.union([z.number(), z.string()]).transform(Number);
export const floatValue = z
  .number()
  .nullable()
  .transform((v) => v ?? Number.NaN);
export const isoTime = z.string().transform(isoFromClickHouse);
export const labelMap = z.record(z.string(), z.string());

/** A select decoded row by row through its read schema, so a changed column fails here rather than as undefined later. */
export async function queryRows<S extends z.ZodType>(
  engine: StoreEngine,
  schema: S,
  sql: string,
  params?: Record<string, unknown>,
): Promise<Array<z.output<S>>> {
  const rows = await engine.query<unknown>(sql, params);
  return rows.map((row) => schema.parse(row));
}

/** Inserts rows already in a table's insert shape, as one JSON-lines body. */
export async function insertRows<T>(engine: StoreEngine, table: string, rows: T[]): Promise<void> {
  if (rows.length === 0) return;
  await engine.insertJsonLines(table, Buffer.from(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`));
}

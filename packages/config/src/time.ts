import { parseDuration } from "./duration.js";

/**
 * A point in time as people write it on a command line or in a query string: ISO 8601
 * ("2026-11-23T10:00:00Z"), milliseconds since the epoch, "now", or a duration before now
 * ("-1h", "now-30m").
 */
export function parseTime(text: string, nowMs = Date.now()): number {
  const ms = parseTimeUnchecked(text.trim(), nowMs);
  if (Number.isNaN(ms)) throw new Error(`"${text}" is not a time: write ISO 8601 (2026-11-23T10:00:00Z), milliseconds since the epoch, "now", or a duration before now ("-1h", "now-30m")`);
  if (!(ms >= 0 && ms <= LAST_MS)) throw new Error(`"${text}" is outside the years 1970 to 9999`);
  return ms;
}

/** 9999-12-31T23:59:59.999Z, the last instant ClickHouse's DateTime64 and ISO 8601 both write. */
const LAST_MS = 253_402_300_799_999;

function parseTimeUnchecked(trimmed: string, nowMs: number): number {
  if (trimmed === "now") return nowMs;
  if (/^\d{10,}$/.test(trimmed)) return Number(trimmed);
  const relative = /^(?:now)?-(.+)$/.exec(trimmed);
  if (relative) return nowMs - parseDuration(relative[1]!);
  return Date.parse(trimmed);
}

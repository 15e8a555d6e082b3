import { parseDuration } from "./duration.js";

/**
 * A point in time as people write it on a command line or in a query string: ISO 8601
 * ("2026-11-23T10:00:00Z"), milliseconds since the epoch, "now", or a duration before now
 * ("-1h", "now-30m").
 */
export function parseTime(text: string, nowMs = Date.now()): number {
  const ms = parseTimeUnchecked(text.trim(), nowMs);
  if (Number.isNaN(ms))
    throw new Error(
      `"${text}" is not a time: write ISO 8601 (2026-11-23T10:00:00Z), milliseconds since the epoch, "now", or a duration before now ("-1h", "now-30m")`,
    );
  if (!(ms >= 0 && ms <= LAST_TIME_MS))
    throw new Error(`"${text}" is outside ${new Date(0).toISOString()} to ${new Date(LAST_TIME_MS).toISOString()}, the times Vigil can query`);
  return ms;
}

/**
 * 2255-06-05T23:47:34.740Z, the last millisecond whose microseconds since the epoch are still an
 * exact JavaScript number: queries bind times as Int64 microseconds, and a later time cannot be
 * sent exactly (it also lies past what DateTime64(9) trace times hold, 2262).
 */
const LAST_TIME_MS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

function parseTimeUnchecked(trimmed: string, nowMs: number): number {
  if (trimmed === "now") return nowMs;
  if (/^\d{10,}$/.test(trimmed)) return Number(trimmed);
  const relative = /^(?:now)?-(.+)$/.exec(trimmed);
  if (relative) return nowMs - parseDuration(relative[1]!);
  return Date.parse(trimmed);
}

import { parseDuration } from "./duration.js";

/**
 * A point in time as people write it on a command line or in a query string: ISO 8601
 * ("2026-11-23T10:00:00Z"), milliseconds since the epoch, "now", or a duration before now
 * ("-1h", "now-30m").
 */
export function parseTime(text: string, nowMs = Date.now()): number {
  const trimmed = text.trim();
  if (trimmed === "now") return nowMs;
  if (/^\d{10,}$/.test(trimmed)) return Number(trimmed);
  const relative = /^(?:now)?-(.+)$/.exec(trimmed);
  if (relative) return nowMs - parseDuration(relative[1]!);
  const ms = Date.parse(trimmed);
  if (Number.isNaN(ms)) throw new Error(`"${text}" is not a time: write ISO 8601 (2026-11-23T10:00:00Z), milliseconds since the epoch, "now", or a duration before now ("-1h", "now-30m")`);
  return ms;
}

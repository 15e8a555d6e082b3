/** The relative ranges the picker offers, as the monitor API reads them. */
export const RANGES = { "15m": "15 minutes", "1h": "1 hour", "6h": "6 hours", "24h": "24 hours", "7d": "7 days" } as const;
export type RangeKey = keyof typeof RANGES;

const RANGE_MS: Record<RangeKey, number> = { "15m": 900_000, "1h": 3_600_000, "6h": 21_600_000, "24h": 86_400_000, "7d": 604_800_000 };
export const DEFAULT_RANGE: RangeKey = "1h";
/** Longest absolute range the picker accepts, as the API's own bound. */
const MAX_ABSOLUTE_MS = 31 * 86_400_000;

export interface Search {
  range?: string;
  from?: string;
  to?: string;
  refresh?: string;
  [key: string]: string | string[] | undefined;
}

/** A range in the URL the dashboard cannot read; pages answer it with HTTP 400. */
export class BadRangeError extends Error {}

/**
 * The time range a page shows: either relative (`range=1h`, ending now) or absolute
 * (`from` and `to` as RFC 3339 instants, from a zoom or the custom range form).
 */
export type TimeRange = { kind: "relative"; key: RangeKey } | { kind: "absolute"; fromMs: number; toMs: number };

const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** Reads the range from the query string; a range given but unreadable is a BadRangeError, never a silent default. */
export function timeRangeOf(search: Search): TimeRange {
  const from = one(search.from);
  const to = one(search.to);
  if (from !== undefined || to !== undefined) {
    const fromMs = Date.parse(from ?? "");
    const toMs = Date.parse(to ?? "");
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs))
      throw new BadRangeError(`"from" and "to" must both be instants such as 2026-11-30T14:00:00Z (got from=${from ?? "none"}, to=${to ?? "none"})`);
    if (toMs <= fromMs) throw new BadRangeError(`"to" (${to}) must come after "from" (${from})`);
    if (toMs - fromMs > MAX_ABSOLUTE_MS) throw new BadRangeError("a custom range may span at most 31 days");
    return { kind: "absolute", fromMs, toMs };
  }
  const range = one(search.range);
  if (range === undefined) return { kind: "relative", key: DEFAULT_RANGE };
  if (!(range in RANGES)) throw new BadRangeError(`range "${range}" is not one of ${Object.keys(RANGES).join(", ")}`);
  return { kind: "relative", key: range as RangeKey };
}

/** The range's bounds in epoch milliseconds, a relative range ending at `now`. */
export function rangeBounds(search: Search, now = Date.now()): { fromMs: number; toMs: number } {
  const r = timeRangeOf(search);
  return r.kind === "absolute" ? { fromMs: r.fromMs, toMs: r.toMs } : { fromMs: now - RANGE_MS[r.key], toMs: now };
}

/** from/to query parameters for the monitor API. */
export function rangeQuery(search: Search): string {
  const r = timeRangeOf(search);
  if (r.kind === "relative") return `from=-${r.key}&to=now`;
  return `from=${encodeURIComponent(new Date(r.fromMs).toISOString())}&to=${encodeURIComponent(new Date(r.toMs).toISOString())}`;
}

/** The query string that selects an absolute range, for links to a moment (an alert's window, a zoom). */
export function absoluteRange(fromMs: number, toMs: number): string {
  return `from=${encodeURIComponent(new Date(fromMs).toISOString())}&to=${encodeURIComponent(new Date(toMs).toISOString())}`;
}

/** Keeps the range and refresh choices when linking between pages. */
export function keep(search: Search, path: string): string {
  const params = new URLSearchParams();
  for (const key of ["range", "from", "to", "refresh"] as const) {
    const value = one(search[key]);
    if (value !== undefined) params.set(key, value);
  }
  const query = params.toString();
  return query ? `${path}${path.includes("?") ? "&" : "?"}${query}` : path;
}

export const percent = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined || !Number.isFinite(v) ? "-" : `${(100 * v).toFixed(digits)}%`;
export const fixed = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits));
/** A time of day in UTC, as every page labels times. */
export const timeOf = (iso: string) => iso.slice(11, 19);
/** A date and time to the second, marked UTC, for moments a time of day alone leaves unclear. */
export const utc = (iso: string) => `${iso.replace("T", " ").slice(0, 19)} UTC`;

/** The shortest range that reaches back to `sinceIso`, so a link to an alert's model shows the alert's time. */
export function rangeCovering(sinceIso: string, now = Date.now()): RangeKey {
  const age = now - Date.parse(sinceIso);
  return (Object.keys(RANGE_MS) as RangeKey[]).find((k) => RANGE_MS[k] >= age) ?? "7d";
}

/** The time ranges the picker offers, as the monitor API reads them. */
export const RANGES = { "15m": "15 minutes", "1h": "1 hour", "6h": "6 hours", "24h": "24 hours", "7d": "7 days" } as const;
export type RangeKey = keyof typeof RANGES;

export interface Search {
  range?: string;
  refresh?: string;
  [key: string]: string | string[] | undefined;
}

export function rangeOf(search: Search): RangeKey {
  return search.range && search.range in RANGES ? (search.range as RangeKey) : "1h";
}

/** from/to query parameters for the monitor API. */
export function rangeQuery(search: Search): string {
  return `from=-${rangeOf(search)}&to=now`;
}

/** Keeps the range and refresh choices when linking between pages. */
export function keep(search: Search, path: string): string {
  const params = new URLSearchParams();
  if (search.range) params.set("range", String(search.range));
  if (search.refresh) params.set("refresh", String(search.refresh));
  const query = params.toString();
  return query ? `${path}${path.includes("?") ? "&" : "?"}${query}` : path;
}

export const percent = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined || !Number.isFinite(v) ? "-" : `${(100 * v).toFixed(digits)}%`;
export const fixed = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits));
export const timeOf = (iso: string) => iso.slice(11, 19);

const RANGE_MS: Record<RangeKey, number> = { "15m": 900_000, "1h": 3_600_000, "6h": 21_600_000, "24h": 86_400_000, "7d": 604_800_000 };

/** The shortest range that reaches back to `sinceIso`, so a link to an alert's model shows the alert's time. */
export function rangeCovering(sinceIso: string, now = Date.now()): RangeKey {
  const age = now - Date.parse(sinceIso);
  return (Object.keys(RANGE_MS) as RangeKey[]).find((k) => RANGE_MS[k] >= age) ?? "7d";
}

"use client";

import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { type FormEvent, useCallback, useEffect, useRef, useState, useTransition } from "react";
import { RANGES, type RangeKey, rangeCovering } from "@/lib/range";

const REFRESH = { off: "off", "15": "15 s", "60": "1 min" } as const;
type RefreshKey = keyof typeof REFRESH;
/** The API's bound on an absolute range; zooming out stops there. */
const MAX_SPAN_MS = 31 * 86_400_000;

const pad = (n: number) => String(n).padStart(2, "0");
const clock = (ms: number) => {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
};
/** "2026-11-30 14:05", UTC: how an absolute range is named in the picker. */
const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");
/** A datetime-local input holds a wall-clock time without a zone; the picker's inputs mean UTC. */
const toInput = (ms: number) => new Date(ms).toISOString().slice(0, 16);
const fromInput = (value: string) => Date.parse(`${value}Z`);

/** The absolute range in the URL, or null when the range is relative (or unreadable, which the page itself answers with a 400). */
function absoluteOf(search: URLSearchParams): { fromMs: number; toMs: number } | null {
  const fromMs = Date.parse(search.get("from") ?? "");
  const toMs = Date.parse(search.get("to") ?? "");
  return Number.isFinite(fromMs) && Number.isFinite(toMs) && toMs > fromMs ? { fromMs, toMs } : null;
}

/**
 * The global time range and auto-refresh, kept in the query string so links and reloads keep them:
 * presets (a relative range ending now), a custom absolute range in UTC, zoom out and back to a
 * relative range, the time the page's data was last fetched, and a refresh that runs only while
 * the tab is visible.
 */
export function RangePicker() {
  const router = useRouter();
  const pathname = usePathname();
  const search = useSearchParams();
  const absolute = absoluteOf(search);
  const range = absolute ? "custom" : (search.get("range") ?? "1h");
  const refreshParam = search.get("refresh") ?? "off";
  const refresh: RefreshKey = refreshParam in REFRESH ? (refreshParam as RefreshKey) : "off";
  const [refreshing, startRefresh] = useTransition();
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [customOpen, setCustomOpen] = useState(false);
  const [customError, setCustomError] = useState<string | null>(null);
  const lastRefreshMs = useRef(0);
  const reload = useCallback(() => {
    lastRefreshMs.current = Date.now();
    startRefresh(() => router.refresh());
  }, [router]);

  // A navigation or a finished refresh has rendered data fetched just now.
  const query = search.toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: pathname and query are what signal a navigation, though the effect does not read them
  useEffect(() => {
    if (!refreshing) setUpdatedAt(Date.now());
  }, [pathname, query, refreshing]);

  useEffect(() => {
    if (refresh === "off") return;
    const periodMs = Number(refresh) * 1000;
    lastRefreshMs.current = Date.now();
    // A hidden tab is not refreshed; it catches up as soon as it is shown again.
    const timer = setInterval(() => document.visibilityState === "visible" && reload(), periodMs);
    const onVisibility = () => document.visibilityState === "visible" && Date.now() - lastRefreshMs.current >= periodMs && reload();
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [refresh, reload]);

  const navigate = (change: (params: URLSearchParams) => void) => {
    const params = new URLSearchParams(query);
    change(params);
    params.delete("cursor");
    router.push(`${pathname}?${params.toString()}`);
  };
  const setRelative = (key: RangeKey) =>
    navigate((p) => {
      p.delete("from");
      p.delete("to");
      p.set("range", key);
    });
  const setAbsolute = (fromMs: number, toMs: number) =>
    navigate((p) => {
      p.delete("range");
      p.set("from", new Date(fromMs).toISOString());
      p.set("to", new Date(toMs).toISOString());
    });

  const zoomOut = () => {
    if (!absolute) return;
    const span = Math.min(2 * (absolute.toMs - absolute.fromMs), MAX_SPAN_MS);
    const toMs = Math.min((absolute.fromMs + absolute.toMs) / 2 + span / 2, Date.now());
    setAbsolute(toMs - span, toMs);
  };
  const applyCustom = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const fromMs = fromInput(String(form.get("from")));
    const toMs = fromInput(String(form.get("to")));
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) return setCustomError("enter both times");
    if (toMs <= fromMs) return setCustomError("“to” must come after “from”");
    if (toMs - fromMs > MAX_SPAN_MS) return setCustomError("a custom range may span at most 31 days");
    setCustomError(null);
    setCustomOpen(false);
    setAbsolute(fromMs, toMs);
  };

  return (
    <div className="picker">
      <label>
        range{" "}
        <select aria-label="time range" value={range} onChange={(e) => e.target.value !== "custom" && setRelative(e.target.value as RangeKey)}>
          {absolute && (
            <option value="custom">
              {minute(absolute.fromMs)} to {minute(absolute.toMs)} UTC
            </option>
          )}
          {Object.entries(RANGES).map(([key, name]) => (
            <option key={key} value={key}>
              last {name}
            </option>
          ))}
        </select>
      </label>
      {absolute && (
        <>
          <button type="button" onClick={zoomOut}>
            zoom out
          </button>
          <button type="button" onClick={() => setRelative(rangeCovering(new Date(absolute.fromMs).toISOString()))}>
            back to live
          </button>
        </>
      )}
      <details open={customOpen} onToggle={(e) => setCustomOpen(e.currentTarget.open)}>
        <summary>custom range</summary>
        {customOpen && (
          <form className="custom-range" onSubmit={applyCustom} aria-label="custom time range">
            <label>
              from (UTC)
              <input type="datetime-local" name="from" required defaultValue={toInput(absolute?.fromMs ?? Date.now() - 3_600_000)} />
            </label>
            <label>
              to (UTC)
              <input type="datetime-local" name="to" required defaultValue={toInput(absolute?.toMs ?? Date.now())} />
            </label>
            {customError && (
              <p className="error" role="alert">
                {customError}
              </p>
            )}
            <button type="submit">apply</button>
          </form>
        )}
      </details>
      <label>
        refresh{" "}
        <select aria-label="auto refresh" value={refresh} onChange={(e) => navigate((p) => p.set("refresh", e.target.value))}>
          {Object.entries(REFRESH).map(([key, name]) => (
            <option key={key} value={key}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <button type="button" onClick={reload}>
        refresh now
      </button>
      <span className="updated" data-updated>
        {refreshing ? "updating…" : updatedAt === null ? "" : `updated ${clock(updatedAt)} UTC`}
      </span>
    </div>
  );
}

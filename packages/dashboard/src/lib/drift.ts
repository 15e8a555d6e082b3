import type { Histogram, ResultPoint } from "@vigil/monitor";

/** Drift methods that are statistical tests: their score is a p-value, and drift is a small one. */
const TESTS = new Set(["ks", "chisquare", "ztest"]);

export const METHOD_NAMES: Record<string, string> = {
  ks: "Kolmogorov-Smirnov test",
  chisquare: "chi-square test",
  ztest: "two-proportion z-test",
  wasserstein: "Wasserstein distance (÷ reference std)",
  jensenshannon: "Jensen-Shannon distance",
  psi: "population stability index",
};

export const isTest = (method: string) => TESTS.has(method);

/**
 * How far past its threshold an input's score lies, comparable across methods: 1 at the
 * threshold, above 1 when drifted. A distance is divided by its threshold; a p-value p against
 * threshold α gives log p / log α, so p = α² scores 2 as a distance twice its threshold does.
 */
export function driftSeverity(point: Pick<ResultPoint, "metric" | "value" | "threshold">): number {
  const { metric, value, threshold } = point;
  if (threshold === null || threshold <= 0) return value;
  if (!isTest(metric)) return value / threshold;
  if (threshold >= 1) return 0;
  return value <= 0 ? Number.POSITIVE_INFINITY : Math.log(value) / Math.log(threshold);
}

/** Inputs' drift points of one window, the most drifted first (ties by input name, so the order is stable). */
export function byDriftSeverity(points: ResultPoint[]): ResultPoint[] {
  return [...points].sort((a, b) => driftSeverity(b) - driftSeverity(a) || a.feature.localeCompare(b.feature));
}

/** A monitor window as the drift results name it. */
export interface MonitorWindow {
  start: string;
  end: string;
}

/** The windows the points cover, oldest first. */
export function windowsOf(points: ResultPoint[]): MonitorWindow[] {
  const byEnd = new Map<string, MonitorWindow>();
  for (const p of points) byEnd.set(p.windowEnd, { start: p.windowStart, end: p.windowEnd });
  return [...byEnd.values()].sort((a, b) => Date.parse(a.end) - Date.parse(b.end));
}

const pad = (n: number) => String(n).padStart(2, "0");

/**
 * Labels for window ends in UTC, as short as keeps them apart: hours and minutes, seconds when
 * windows end inside a minute, the date when they span days.
 */
export function windowEndLabels(ends: string[]): Map<string, string> {
  const times = ends.map((e) => new Date(e));
  const seconds = times.some((t) => t.getUTCSeconds() !== 0 || t.getUTCMilliseconds() !== 0);
  const days = new Set(ends.map((e) => e.slice(0, 10))).size > 1;
  return new Map(
    ends.map((end, i) => {
      const t = times[i]!;
      const clock = `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}${seconds ? `:${pad(t.getUTCSeconds())}` : ""}`;
      return [end, days ? `${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${clock}` : clock];
    }),
  );
}

/** Bin edges written with as few significant digits as keep neighbouring edges apart. */
export function edgeLabels(edges: number[]): string[] {
  for (let digits = 2; digits <= 12; digits++) {
    const labels = edges.map((e) => String(Number(e.toPrecision(digits))));
    if (new Set(labels).size === new Set(edges).size) return labels;
  }
  return edges.map(String);
}

/** One bar pair of a histogram: a bin's or category's name and its counts. */
export interface HistogramBin {
  name: string;
  reference: number;
  current: number;
}

/** Most categories a histogram shows one by one; the rest are summed into "other". */
export const TOP_CATEGORIES = 12;

/**
 * A histogram's bars. Numerical bins are named by their rounded edges. Categorical inputs with
 * many categories keep the most common ones (by the larger of their reference and current
 * shares) and sum the rest into one "other" bar, so 86 airports read as 11 bars and a remainder.
 */
export function histogramBins(h: Histogram): HistogramBin[] {
  if ("edges" in h.bins) {
    const labels = edgeLabels(h.bins.edges);
    return h.reference.map((reference, i) => ({
      name: i === 0 ? `≤ ${labels[0]}` : i === labels.length ? `> ${labels[i - 1]}` : `${labels[i - 1]} – ${labels[i]}`,
      reference,
      current: h.current[i] ?? 0,
    }));
  }
  const { categories } = h.bins;
  const bins = categories.map((name, i) => ({ name, reference: h.reference[i] ?? 0, current: h.current[i] ?? 0 }));
  if (bins.length <= TOP_CATEGORIES) return bins;
  const total = (key: "reference" | "current") => bins.reduce((a, b) => a + b[key], 0) || 1;
  const referenceTotal = total("reference");
  const currentTotal = total("current");
  const weight = (b: HistogramBin) => Math.max(b.reference / referenceTotal, b.current / currentTotal);
  const ranked = [...bins].sort((a, b) => weight(b) - weight(a) || a.name.localeCompare(b.name));
  const kept = ranked.slice(0, TOP_CATEGORIES - 1);
  const rest = ranked.slice(TOP_CATEGORIES - 1);
  return [
    ...kept,
    {
      name: `other (${rest.length} categories)`,
      reference: rest.reduce((a, b) => a + b.reference, 0),
      current: rest.reduce((a, b) => a + b.current, 0),
    },
  ];
}

const figure = (v: number) => (Math.abs(v) >= 0.001 || v === 0 ? v.toFixed(3) : v.toExponential(1));

/** What decided an input's verdict, in words: the method, its statistic, p-value (tests only) and threshold. */
export function driftFigures(point: ResultPoint): { method: string; statistic: string; pValue: string; threshold: string } {
  const test = isTest(point.metric);
  const ks = point.details.kolmogorov_smirnov as { statistic?: unknown } | null | undefined;
  const statistic = test ? (point.metric === "ks" && typeof ks?.statistic === "number" ? `D = ${figure(ks.statistic)}` : "–") : figure(point.value);
  return {
    method: METHOD_NAMES[point.metric] ?? point.metric,
    statistic,
    pValue: test ? figure(point.value) : "– (not a test)",
    threshold: point.threshold === null ? "–" : `${test ? "p ≤" : "≥"} ${figure(point.threshold)}`,
  };
}

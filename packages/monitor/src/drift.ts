import type { StoreEngine } from "@vigil/store";
import { type FeatureProfile, type FeatureSpec, QUANTILE_MIDPOINTS, binOf, empiricalQuantile } from "./profiles.js";
import { chiSquareTest, jensenShannonDistance, kolmogorovSmirnovPValue, populationStabilityIndex } from "./stats.js";
import type { Window } from "./window.js";

/** Default PSI above which a feature counts as drifted (the conventional 0.1). */
export const DEFAULT_PSI_THRESHOLD = 0.1;

export interface FeatureDrift {
  feature: string;
  kind: "numerical" | "categorical";
  referenceCounts: number[];
  currentCounts: number[];
  /** Current values outside the profile (unknown category codes); not part of the statistics. */
  outside: number;
  psi: number;
  jensenShannon: number;
  /** Categorical features: chi-square goodness of fit of current counts to reference shares. */
  chiSquare: { statistic: number; pValue: number; degreesOfFreedom: number } | null;
  /**
   * Numerical features: the two-sample Kolmogorov-Smirnov statistic read at the reference's
   * 0.1%-quantile edges. The true supremum lies in [statistic, statistic + statisticBound];
   * the p-value is Kolmogorov's limit with Stephens' correction.
   */
  kolmogorovSmirnov: { statistic: number; statisticBound: number; pValue: number } | null;
  /**
   * Numerical features: Wasserstein-1 distance, ∫|Q_ref − Q_cur| over 1,000 midpoint samples of
   * both empirical quantile functions, and that divided by the reference's standard deviation.
   */
  wasserstein: { distance: number; normed: number } | null;
  psiThreshold: number;
  drifted: boolean;
}

const WINDOW_FILTER = `model_name = {model:String} AND ({version:String} = '' OR model_version = {version:String}) AND status = 'OK'
  AND timestamp >= fromUnixTimestamp64Micro({from:Int64}, 'UTC') AND timestamp < fromUnixTimestamp64Micro({to:Int64}, 'UTC')`;

/** The value a monitored input takes in a predictions row (a closed set of SQL fragments). */
const VALUE: Record<NonNullable<FeatureSpec["source"]>, { value: string; present: string }> = {
  feature: { value: "features[{index:UInt32} + 1]", present: "length(features) > {index:UInt32}" },
  prediction: { value: "toFloat64(indexOf({classes:Array(String)}, prediction) - 1)", present: "prediction != ''" },
  confidence: { value: "toFloat64(confidence)", present: "1" },
};

/** One monitored input's finite values in the window. */
const valuesOf = (spec: FeatureSpec) => {
  const { value, present } = VALUE[spec.source ?? "feature"];
  return `SELECT ${value} AS x FROM predictions WHERE ${WINDOW_FILTER} AND ${present}`;
};

/**
 * Current counts in the reference's bins, counted by ClickHouse: one pass, a handful of rows back.
 * Values are grouped before they are binned, so the per-edge comparison runs once per distinct
 * value rather than once per row.
 */
const numericalCounts = (spec: FeatureSpec) => `
  SELECT arrayCount(e -> e < x, {edges:Array(Float64)}) AS bin, sum(n) AS n
  FROM (SELECT x, count() AS n FROM (${valuesOf(spec)}) WHERE isFinite(x) GROUP BY x)
  GROUP BY bin`;

const categoricalCounts = (spec: FeatureSpec) => `
  SELECT toInt64(round(x)) AS code, count() AS n FROM (${valuesOf(spec)}) WHERE isFinite(x) GROUP BY code`;

/**
 * The current window's empirical quantile function at the same midpoints as the reference's, by
 * ClickHouse's quantileExact (one sort for all levels). The levels are constants of this module,
 * written into the SQL because ClickHouse takes quantile levels only as literals.
 */
const currentQuantiles = (spec: FeatureSpec) => `
  SELECT quantilesExact(${QUANTILE_MIDPOINTS.join(", ")})(x) AS q FROM (${valuesOf(spec)}) WHERE isFinite(x)`;

function kolmogorovSmirnov(referenceCounts: number[], currentCounts: number[]) {
  const n = referenceCounts.reduce((a, b) => a + b, 0);
  const m = currentCounts.reduce((a, b) => a + b, 0);
  let cumulativeRef = 0;
  let cumulativeCur = 0;
  let statistic = 0;
  let statisticBound = 0;
  for (let b = 0; b < referenceCounts.length; b++) {
    statisticBound = Math.max(statisticBound, referenceCounts[b]! / n, currentCounts[b]! / m);
    cumulativeRef += referenceCounts[b]!;
    cumulativeCur += currentCounts[b]!;
    statistic = Math.max(statistic, Math.abs(cumulativeRef / n - cumulativeCur / m));
  }
  return { statistic, statisticBound, pValue: kolmogorovSmirnovPValue(statistic, (n * m) / (n + m)) };
}

/** ∫ |Q_ref(u) − Q_cur(u)| du by the midpoint rule on 1,000 slices. */
function wasserstein(reference: number[], current: number[], std: number) {
  let distance = 0;
  for (let j = 0; j < reference.length; j++) distance += Math.abs(reference[j]! - current[j]!);
  distance /= reference.length;
  return { distance, normed: std > 0 ? distance / std : Number.NaN };
}

export interface DriftQuery {
  model: string;
  version?: string;
  window: Window;
  features: FeatureSpec[];
  profiles: FeatureProfile[];
  psiThreshold?: number;
}

/** What drift needs to know about the current values of one feature. */
export interface CurrentSummary {
  /** Counts in the profile's bins (numerical) or categories (categorical). */
  counts: number[];
  /** Numerical: counts in the profile's fine bins. */
  fineCounts: number[];
  /** Numerical: the empirical quantile function at QUANTILE_MIDPOINTS. */
  quantiles: number[];
  /** Categorical: values that are no category's code. */
  outside: number;
}

/** The summary of current values held in memory (a dataset compared offline, or simulation). */
export function summarizeValues(profile: FeatureProfile, values: number[]): CurrentSummary {
  const finite = values.filter(Number.isFinite);
  if (profile.kind === "categorical") {
    const counts = new Array<number>(profile.categories.length).fill(0);
    let outside = 0;
    for (const v of finite) {
      const code = Math.round(v);
      if (code >= 0 && code < counts.length) counts[code]!++;
      else outside++;
    }
    return { counts, fineCounts: [], quantiles: [], outside };
  }
  const counts = new Array<number>(profile.binEdges.length + 1).fill(0);
  const fineCounts = new Array<number>(profile.fineEdges.length + 1).fill(0);
  for (const v of finite) {
    counts[binOf(profile.binEdges, v)]!++;
    fineCounts[binOf(profile.fineEdges, v)]!++;
  }
  const sorted = Float64Array.from(finite).sort();
  const quantiles = sorted.length === 0 ? [] : QUANTILE_MIDPOINTS.map((u) => empiricalQuantile(sorted, u));
  return { counts, fineCounts, quantiles, outside: 0 };
}

/** Every drift figure of one feature from its profile and the current summary. */
export function driftFromSummary(profile: FeatureProfile, current: CurrentSummary, psiThreshold = DEFAULT_PSI_THRESHOLD): FeatureDrift {
  const referenceCounts = profile.kind === "numerical" ? profile.binCounts : profile.counts;
  const empty = current.counts.every((c) => c === 0);
  const psi = empty ? Number.NaN : populationStabilityIndex(referenceCounts, current.counts);
  const numerical = profile.kind === "numerical" && !empty;
  return {
    feature: profile.feature,
    kind: profile.kind,
    referenceCounts,
    currentCounts: current.counts,
    outside: current.outside,
    psi,
    jensenShannon: empty ? Number.NaN : jensenShannonDistance(referenceCounts, current.counts),
    chiSquare: profile.kind === "categorical" && !empty ? chiSquareTest(referenceCounts, current.counts) : null,
    kolmogorovSmirnov: numerical ? kolmogorovSmirnov(profile.fineCounts, current.fineCounts) : null,
    wasserstein: numerical ? wasserstein(profile.quantiles, current.quantiles, profile.std) : null,
    psiThreshold,
    drifted: !empty && psi >= psiThreshold,
  };
}

/** The current summary of one feature in a window, counted by ClickHouse: a few small results, whatever the window's size. */
async function summarizeWindow(engine: StoreEngine, query: DriftQuery, spec: FeatureSpec, profile: FeatureProfile): Promise<CurrentSummary> {
  const base = {
    model: query.model,
    version: query.version ?? "",
    from: Math.floor(query.window.fromUs),
    to: Math.floor(query.window.toUs),
    index: spec.index,
    classes: spec.source === "prediction" ? (spec.categories ?? []) : [],
  };
  if (profile.kind === "categorical") {
    const counts = new Array<number>(profile.categories.length).fill(0);
    let outside = 0;
    for (const r of await engine.query<{ code: string | number; n: string | number }>(categoricalCounts(spec), base)) {
      const code = Number(r.code);
      if (code >= 0 && code < counts.length) counts[code] = Number(r.n);
      else outside += Number(r.n);
    }
    return { counts, fineCounts: [], quantiles: [], outside };
  }
  const binned = async (edges: number[]) => {
    const out = new Array<number>(edges.length + 1).fill(0);
    for (const r of await engine.query<{ bin: number; n: string | number }>(numericalCounts(spec), { ...base, edges })) out[Number(r.bin)] = Number(r.n);
    return out;
  };
  const [counts, fineCounts, [quantiles]] = await Promise.all([
    binned(profile.binEdges),
    binned(profile.fineEdges),
    engine.query<{ q: number[] }>(currentQuantiles(spec), base),
  ]);
  return { counts, fineCounts, quantiles: quantiles?.q ?? [], outside: 0 };
}

/** Drift of each monitored feature in a window against its reference profile. */
export async function featureDrift(engine: StoreEngine, query: DriftQuery): Promise<FeatureDrift[]> {
  return Promise.all(
    query.features.map(async (spec) => {
      const profile = query.profiles.find((p) => p.feature === spec.name);
      if (!profile) throw new Error(`no reference profile for feature "${spec.name}" of model ${query.model}`);
      return driftFromSummary(profile, await summarizeWindow(engine, query, spec, profile), query.psiThreshold);
    }),
  );
}

import { PREDICTIONS, type SegmentFilter, type StoreEngine, okPredictionsIn } from "@vigil/store";
import { ConfigError, NotFoundError } from "./errors.js";
import { type FeatureProfile, type FeatureSpec, type NumericalProfile, QUANTILE_MIDPOINTS, binOf, empiricalQuantile } from "./profiles.js";
import { chiSquareTest, jensenShannonDistance, kolmogorovSmirnovStatistic, kolmogorovSmirnovTwoSample, populationStabilityIndex } from "./stats.js";
import { type Window, windowParams } from "./window.js";

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
   * Numerical features: the two-sample Kolmogorov-Smirnov statistic. From the reference's stored
   * sample it is exact (`statisticFrom: "sample"`, bound 0); a reference too large to store whole
   * is read at its 0.1%-quantile edges (`"histogram"`), and the true supremum lies in
   * [statistic, statistic + statisticBound]. The p-value is exact when neither sample exceeds
   * 10,000 values (scipy's default), else Kolmogorov's limit with Stephens' correction.
   */
  kolmogorovSmirnov: {
    statistic: number;
    statisticBound: number;
    statisticFrom: "sample" | "histogram";
    pValue: number;
    pValueMethod: "exact" | "asymptotic";
  } | null;
  /**
   * Numerical features: Wasserstein-1 distance, ∫|Q_ref − Q_cur| over 1,000 midpoint samples of
   * both empirical quantile functions, and that divided by the reference's standard deviation.
   */
  wasserstein: { distance: number; normed: number } | null;
  psiThreshold: number;
  drifted: boolean;
}

/** The value monitored input `i` takes in a predictions row, NaN where the row lacks it (a closed set of SQL fragments). */
export function featureValueSql(spec: FeatureSpec, i: number): string {
  switch (spec.source ?? "feature") {
    case "feature":
      return `if(length(features) > {index_${i}:UInt32}, features[{index_${i}:UInt32} + 1], nan)`;
    case "prediction":
      return `if(prediction != '', toFloat64(indexOf({classes_${i}:Array(String)}, prediction) - 1), nan)`;
    case "confidence":
      return "toFloat64(confidence)";
  }
}

/**
 * Every monitored input's distinct values in a window with their counts, in one pass: rows are
 * unrolled into (input, value) pairs and grouped. Columns: i (input position), x, n.
 */
export const windowValueCounts = (specs: FeatureSpec[], segmented = false) => `
  SELECT pair.1 AS i, pair.2 AS x, count() AS n
  FROM (SELECT arrayJoin(arrayZip(range(${specs.length}), [${specs.map(featureValueSql).join(", ")}])) AS pair FROM ${PREDICTIONS} WHERE ${okPredictionsIn(segmented)})
  WHERE isFinite(x)
  GROUP BY i, x`;

/** Bound parameters of windowValueCounts. */
export function windowValueParams(query: {
  model: string;
  version?: string;
  window: Window;
  features: FeatureSpec[];
  segment?: SegmentFilter;
}): Record<string, unknown> {
  const params = windowParams(query);
  query.features.forEach((spec, i) => {
    if ((spec.source ?? "feature") === "feature") params[`index_${i}`] = spec.index;
    if (spec.source === "prediction") params[`classes_${i}`] = spec.categories ?? [];
  });
  return params;
}

/**
 * The current summary of every monitored input from its distinct values, so binning, category
 * counts and the quantile function run once per distinct value rather than once per row.
 * Categorical inputs count by code; numerical ones count in the profile's coarse and fine bins,
 * and their quantile function comes from quantilesExactWeighted over the (value, count) pairs.
 * The levels are constants of this module, written into the SQL because ClickHouse takes
 * quantile levels only as literals.
 */
const windowSummary = (specs: FeatureSpec[], segmented: boolean) => `
  SELECT i,
         sumMap([if({categorical:Array(UInt8)}[i + 1] = 1, toInt64(round(x)), toInt64(arrayCount(e -> e < x, {edges:Array(Array(Float64))}[i + 1])))], [n]) AS coarse,
         sumMap([toInt64(arrayCount(e -> e < x, {fine:Array(Array(Float64))}[i + 1]))], [n]) AS fine,
         quantilesExactWeighted(${QUANTILE_MIDPOINTS.join(", ")})(x, n) AS q
  FROM (${windowValueCounts(specs, segmented)})
  GROUP BY i`;

/**
 * The exact two-sample Kolmogorov-Smirnov statistic of every input whose profile holds the
 * reference sample: the window's distinct values (with their counts) and the reference's values
 * pooled and ordered, both empirical CDFs accumulated by window functions (a distinct value's
 * rows all count at once, so ties never split), and D the largest gap between them.
 */
const windowSampleStatistic = (specs: FeatureSpec[], segmented: boolean) => `
  SELECT i, max(abs(cur / cur_total - ref / ref_total)) AS d
  FROM (
    SELECT i,
           sum(c) OVER (PARTITION BY i ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cur,
           sum(r) OVER (PARTITION BY i ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ref,
           sum(c) OVER (PARTITION BY i) AS cur_total,
           sum(r) OVER (PARTITION BY i) AS ref_total
    FROM (
      SELECT i, x, sum(c) AS c, sum(r) AS r
      FROM (
        SELECT toUInt32(i) AS i, x, toUInt64(n) AS c, toUInt64(0) AS r FROM (${windowValueCounts(specs, segmented)}) WHERE has({sampled:Array(UInt32)}, toUInt32(i))
        UNION ALL
        SELECT toUInt32(pair.1) AS i, pair.2 AS x, toUInt64(0) AS c, toUInt64(1) AS r
        FROM (SELECT arrayJoin(arrayFlatten(arrayMap((sample, j) -> arrayMap(v -> (j, v), sample), {samples:Array(Array(Float64))}, {sampled:Array(UInt32)}))) AS pair)
      )
      GROUP BY i, x
    )
  )
  WHERE cur_total > 0
  GROUP BY i`;

function kolmogorovSmirnov(profile: NumericalProfile, current: CurrentSummary): NonNullable<FeatureDrift["kolmogorovSmirnov"]> {
  const n = profile.sampleSize;
  const m = current.fineCounts.reduce((a, b) => a + b, 0);
  let statistic = 0;
  let statisticBound = 0;
  if (current.sampleStatistic !== undefined) {
    statistic = current.sampleStatistic;
  } else {
    let cumulativeRef = 0;
    let cumulativeCur = 0;
    for (let b = 0; b < profile.fineCounts.length; b++) {
      statisticBound = Math.max(statisticBound, profile.fineCounts[b]! / n, current.fineCounts[b]! / m);
      cumulativeRef += profile.fineCounts[b]!;
      cumulativeCur += current.fineCounts[b]!;
      statistic = Math.max(statistic, Math.abs(cumulativeRef / n - cumulativeCur / m));
    }
  }
  const { pValue, method } = kolmogorovSmirnovTwoSample(statistic, n, m);
  return { statistic, statisticBound, statisticFrom: current.sampleStatistic !== undefined ? "sample" : "histogram", pValue, pValueMethod: method };
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
  /** A slice of the rows; all rows when absent. */
  segment?: SegmentFilter;
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
  /** Numerical, when the profile holds the reference sample: the exact Kolmogorov-Smirnov statistic against it. */
  sampleStatistic?: number;
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
  const sampleStatistic = profile.sample.length > 0 && sorted.length > 0 ? kolmogorovSmirnovStatistic(profile.sample, sorted) : undefined;
  return { counts, fineCounts, quantiles, outside: 0, ...(sampleStatistic === undefined ? {} : { sampleStatistic }) };
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
    kolmogorovSmirnov: numerical ? kolmogorovSmirnov(profile, current) : null,
    wasserstein: numerical ? wasserstein(profile.quantiles, current.quantiles, profile.std) : null,
    psiThreshold,
    drifted: !empty && psi >= psiThreshold,
  };
}

type Count = string | number;

/** Every monitored input's current summary in a window, counted by ClickHouse in one query: a few small results, whatever the window's size. */
async function summarizeWindow(engine: StoreEngine, query: DriftQuery, profiles: FeatureProfile[]): Promise<CurrentSummary[]> {
  const params = {
    ...windowValueParams(query),
    categorical: profiles.map((p) => (p.kind === "categorical" ? 1 : 0)),
    edges: profiles.map((p) => (p.kind === "numerical" ? p.binEdges : [])),
    fine: profiles.map((p) => (p.kind === "numerical" ? p.fineEdges : [])),
  };
  const rows = await engine.query<{ i: number; coarse: [Count[], Count[]]; fine: [Count[], Count[]]; q: number[] }>(
    windowSummary(query.features, query.segment !== undefined),
    params,
  );
  const sampled = profiles.flatMap((p, i) => (p.kind === "numerical" && p.sample.length > 0 ? [i] : []));
  const exact =
    sampled.length === 0
      ? []
      : await engine.query<{ i: number; d: number }>(windowSampleStatistic(query.features, query.segment !== undefined), {
          ...windowValueParams(query),
          sampled,
          samples: sampled.map((i) => (profiles[i] as NumericalProfile).sample),
        });
  return profiles.map((profile, i) => {
    const row = rows.find((r) => Number(r.i) === i);
    const size = profile.kind === "categorical" ? profile.categories.length : profile.binEdges.length + 1;
    const counts = new Array<number>(size).fill(0);
    let outside = 0;
    const [coarseKeys, coarseCounts] = row?.coarse ?? [[], []];
    coarseKeys.forEach((key, j) => {
      const code = Number(key);
      if (code >= 0 && code < size) counts[code] = Number(coarseCounts[j]);
      else outside += Number(coarseCounts[j]);
    });
    if (profile.kind === "categorical") return { counts, fineCounts: [], quantiles: [], outside };
    const fineCounts = new Array<number>(profile.fineEdges.length + 1).fill(0);
    const [fineKeys, fineValues] = row?.fine ?? [[], []];
    fineKeys.forEach((key, j) => {
      fineCounts[Number(key)] = Number(fineValues[j]);
    });
    const sampleStatistic = exact.find((r) => Number(r.i) === i)?.d;
    return {
      counts,
      fineCounts,
      quantiles: row ? row.q : [],
      outside: 0,
      ...(sampleStatistic === undefined ? {} : { sampleStatistic: Number(sampleStatistic) }),
    };
  });
}

/** Drift of each monitored feature in a window against its reference profile. */
export async function featureDrift(engine: StoreEngine, query: DriftQuery): Promise<FeatureDrift[]> {
  const profiles = query.features.map((spec) => {
    const profile = query.profiles.find((p) => p.feature === spec.name);
    if (!profile) throw new NotFoundError(`no reference profile for feature "${spec.name}" of model ${query.model}`);
    if (profile.kind !== spec.kind)
      throw new ConfigError(`feature "${spec.name}" of model ${query.model} is ${spec.kind} but its reference profile is ${profile.kind}`);
    return profile;
  });
  if (profiles.length === 0) return [];
  const summaries = await summarizeWindow(engine, query, profiles);
  return profiles.map((profile, i) => driftFromSummary(profile, summaries[i]!, query.psiThreshold));
}

import type { StoreEngine } from "@vigil/store";
import { type FeatureProfile, type FeatureSpec, QUANTILE_MIDPOINTS } from "./profiles.js";
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
  AND timestamp >= fromUnixTimestamp64Micro({from:Int64}, 'UTC') AND timestamp < fromUnixTimestamp64Micro({to:Int64}, 'UTC')
  AND length(features) > {index:UInt32}`;

/** Current counts in the reference's bins, counted by ClickHouse: one pass, a handful of rows back. */
const NUMERICAL_COUNTS = `
  SELECT arrayCount(e -> e < x, {edges:Array(Float64)}) AS bin, count() AS n
  FROM (SELECT features[{index:UInt32} + 1] AS x FROM predictions WHERE ${WINDOW_FILTER})
  WHERE isFinite(x)
  GROUP BY bin`;

const CATEGORICAL_COUNTS = `
  SELECT toInt64(round(x)) AS code, count() AS n
  FROM (SELECT features[{index:UInt32} + 1] AS x FROM predictions WHERE ${WINDOW_FILTER})
  WHERE isFinite(x)
  GROUP BY code`;

/** The current window's empirical quantile function at the same midpoints as the reference's. */
const CURRENT_QUANTILES = `
  SELECT arrayMap(u -> sorted[greatest(1, toUInt64(ceil(u * length(sorted))))], {levels:Array(Float64)}) AS q
  FROM (
    SELECT arraySort(groupArray(x)) AS sorted
    FROM (SELECT features[{index:UInt32} + 1] AS x FROM predictions WHERE ${WINDOW_FILTER})
    WHERE isFinite(x)
  )`;

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

/** Drift of each monitored feature in a window against its reference profile. */
export async function featureDrift(engine: StoreEngine, query: DriftQuery): Promise<FeatureDrift[]> {
  const threshold = query.psiThreshold ?? DEFAULT_PSI_THRESHOLD;
  return Promise.all(
    query.features.map(async (spec) => {
      const profile = query.profiles.find((p) => p.feature === spec.name);
      if (!profile) throw new Error(`no reference profile for feature "${spec.name}" of model ${query.model}`);
      const base = { model: query.model, version: query.version ?? "", from: Math.floor(query.window.fromUs), to: Math.floor(query.window.toUs), index: spec.index };
      let referenceCounts: number[];
      const currentCounts: number[] = [];
      let outside = 0;
      let ks: FeatureDrift["kolmogorovSmirnov"] = null;
      let w1: FeatureDrift["wasserstein"] = null;
      if (profile.kind === "numerical") {
        referenceCounts = profile.binCounts;
        const counts = async (edges: number[]) => {
          const out = new Array<number>(edges.length + 1).fill(0);
          for (const r of await engine.query<{ bin: number; n: string | number }>(NUMERICAL_COUNTS, { ...base, edges })) out[Number(r.bin)] = Number(r.n);
          return out;
        };
        const [coarse, fine, [quantiles]] = await Promise.all([counts(profile.binEdges), counts(profile.fineEdges), engine.query<{ q: number[] }>(CURRENT_QUANTILES, { ...base, levels: QUANTILE_MIDPOINTS })]);
        currentCounts.push(...coarse);
        if (fine.some((c) => c > 0)) {
          ks = kolmogorovSmirnov(profile.fineCounts, fine);
          w1 = wasserstein(profile.quantiles, quantiles!.q, profile.std);
        }
      } else {
        referenceCounts = profile.counts;
        currentCounts.push(...new Array<number>(referenceCounts.length).fill(0));
        for (const r of await engine.query<{ code: string | number; n: string | number }>(CATEGORICAL_COUNTS, base)) {
          const code = Number(r.code);
          if (code >= 0 && code < currentCounts.length) currentCounts[code] = Number(r.n);
          else outside += Number(r.n);
        }
      }
      const empty = currentCounts.every((c) => c === 0);
      const psi = empty ? Number.NaN : populationStabilityIndex(referenceCounts, currentCounts);
      return {
        feature: spec.name,
        kind: profile.kind,
        referenceCounts,
        currentCounts,
        outside,
        psi,
        jensenShannon: empty ? Number.NaN : jensenShannonDistance(referenceCounts, currentCounts),
        chiSquare: profile.kind === "categorical" && !empty ? chiSquareTest(referenceCounts, currentCounts) : null,
        kolmogorovSmirnov: ks,
        wasserstein: w1,
        psiThreshold: threshold,
        drifted: !empty && psi >= threshold,
      };
    }),
  );
}

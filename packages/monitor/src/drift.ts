import type { StoreEngine } from "@vigil/store";
import type { FeatureProfile, FeatureSpec } from "./profiles.js";
import { chiSquareTest, jensenShannonDistance, populationStabilityIndex } from "./stats.js";
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
      if (profile.kind === "numerical") {
        referenceCounts = profile.binCounts;
        currentCounts.push(...new Array<number>(referenceCounts.length).fill(0));
        for (const r of await engine.query<{ bin: number; n: string | number }>(NUMERICAL_COUNTS, { ...base, edges: profile.binEdges })) currentCounts[Number(r.bin)] = Number(r.n);
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
        psiThreshold: threshold,
        drifted: !empty && psi >= threshold,
      };
    }),
  );
}

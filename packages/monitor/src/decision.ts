import type { FeatureDrift } from "./drift.js";
import type { FeatureProfile } from "./profiles.js";
import { chiSquareSurvival, chiSquareTest, coarsenCategories, jensenShannonDistance } from "./stats.js";

/**
 * How a feature is judged, following Evidently's published defaults:
 * - reference of at most 1000 rows: two-sample Kolmogorov-Smirnov for numerical features with
 *   more than 5 distinct values, otherwise a chi-square test of homogeneity (a two-proportion
 *   z-test for two categories); drift when p ≤ 0.05. Small samples make distances noisy, so a
 *   test with a known error rate. Where Evidently fits current counts to the reference's shares,
 *   Vigil tests the two samples against each other, and pools categories expecting fewer than 5
 *   rows: the goodness-of-fit form raised false alarms on 27-100% of same-distribution samples.
 * - larger references: Wasserstein-1 divided by the reference's standard deviation for numerical
 *   features, Jensen-Shannon distance for categorical (on the most frequent categories, see
 *   jsCategories); drift at ≥ 0.1. With thousands of rows any tiny difference becomes
 *   "significant", so a distance with a practical threshold.
 */
export type DriftMethod = "ks" | "chisquare" | "ztest" | "wasserstein" | "jensenshannon" | "psi";

export interface DriftDecision {
  feature: string;
  method: DriftMethod;
  /** p-value for tests, distance for the others. */
  score: number;
  threshold: number;
  drifted: boolean;
}

export interface DecisionOptions {
  /** Reference size up to which the statistical tests are used. */
  smallReference?: number;
  pValue?: number;
  distance?: number;
  /** Per-feature method and threshold overrides. */
  perFeature?: Record<string, { method?: DriftMethod; threshold?: number }>;
}

export const DEFAULT_DECISION = { smallReference: 1000, pValue: 0.05, distance: 0.1 } as const;

/** Two-proportion z-test on a two-category feature, reference against current; two-sided p. */
export function twoProportionZTest(reference: number[], current: number[]): number {
  const n1 = reference[0]! + reference[1]!;
  const n2 = current[0]! + current[1]!;
  const pooled = (reference[1]! + current[1]!) / (n1 + n2);
  const variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2);
  if (variance === 0) return 1;
  const z = (reference[1]! / n1 - current[1]! / n2) / Math.sqrt(variance);
  // z² follows chi-square with one degree of freedom: the two-sided normal tail.
  return chiSquareSurvival(z * z, 1);
}

function defaultMethod(profile: FeatureProfile, smallReference: number): DriftMethod {
  if (profile.sampleSize > smallReference) return profile.kind === "numerical" ? "wasserstein" : "jensenshannon";
  if (profile.kind === "numerical" && new Set(profile.quantiles).size > 5) return "ks";
  return profile.kind === "categorical" && profile.categories.length === 2 ? "ztest" : "chisquare";
}

/** Cochran's rule: a chi-square approximation wants at least 5 expected rows per category. */
const MIN_EXPECTED = 5;

/**
 * Categories for a Jensen-Shannon judgement: sampling noise alone puts the distance near
 * √((K − 1) / 8m) for K categories and m current rows, so K is capped to keep that under half the
 * threshold (86 airports on 1,000 rows would otherwise sit at 0.10, the threshold itself).
 */
function jsCategories(currentRows: number, threshold: number): number {
  return Math.max(2, Math.floor(1 + 8 * currentRows * (threshold / 2) ** 2));
}

function scoreOf(method: DriftMethod, drift: FeatureDrift, threshold: number): number {
  switch (method) {
    case "ks":
      return drift.kolmogorovSmirnov?.pValue ?? Number.NaN;
    case "wasserstein":
      return drift.wasserstein?.normed ?? Number.NaN;
    case "jensenshannon": {
      if (drift.kind === "numerical") return drift.jensenShannon;
      const m = drift.currentCounts.reduce((a, b) => a + b, 0);
      const coarse = coarsenCategories(drift.referenceCounts, drift.currentCounts, 0, jsCategories(m, threshold));
      return jensenShannonDistance(coarse.reference, coarse.current);
    }
    case "psi":
      return drift.psi;
    case "ztest":
      return twoProportionZTest(drift.referenceCounts, drift.currentCounts);
    case "chisquare": {
      const coarse = coarsenCategories(drift.referenceCounts, drift.currentCounts, MIN_EXPECTED);
      return chiSquareTest(coarse.reference, coarse.current).pValue;
    }
  }
}

const isTest = (method: DriftMethod) => method === "ks" || method === "chisquare" || method === "ztest";

/** Whether one feature drifted, by its (default or configured) method and threshold. */
export function decideDrift(profile: FeatureProfile, drift: FeatureDrift, options: DecisionOptions = {}): DriftDecision {
  const override = options.perFeature?.[drift.feature] ?? {};
  const method = override.method ?? defaultMethod(profile, options.smallReference ?? DEFAULT_DECISION.smallReference);
  const threshold = override.threshold ?? (isTest(method) ? (options.pValue ?? DEFAULT_DECISION.pValue) : (options.distance ?? DEFAULT_DECISION.distance));
  const score = drift.currentCounts.every((c) => c === 0) ? Number.NaN : scoreOf(method, drift, threshold);
  const drifted = Number.isFinite(score) && (isTest(method) ? score <= threshold : score >= threshold);
  return { feature: drift.feature, method, score, threshold, drifted };
}

/** Share of features that drifted; the dataset drifted when it reaches `threshold` (default 0.5). */
export function datasetDrift(decisions: DriftDecision[], threshold = 0.5): { share: number; drifted: boolean; threshold: number } {
  const judged = decisions.filter((d) => Number.isFinite(d.score));
  const share = judged.length === 0 ? 0 : judged.filter((d) => d.drifted).length / judged.length;
  return { share, drifted: judged.length > 0 && share >= threshold, threshold };
}

import { type FeatureProfile, REFERENCE_SAMPLE_LIMIT } from "@vigil/store";
import { NoDataError } from "./errors.js";

export type { CategoricalProfile, FeatureProfile, NumericalProfile } from "@vigil/store";

/**
 * A monitored input: a feature (its place in the prediction log's `features` array), the
 * predicted class (prediction drift; categories are the model's classes), or the confidence.
 */
export interface FeatureSpec {
  name: string;
  index: number;
  kind: "numerical" | "categorical";
  /** Categorical: the meaning of code i. */
  categories?: string[];
  source?: "feature" | "prediction" | "confidence";
}

/** Midpoints of 1,000 equal slices of [0, 1], where quantile functions are sampled. */
export const QUANTILE_MIDPOINTS = Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);

/**
 * The empirical quantile function, inf{x : F(x) ≥ u}: the value at 0-based position ⌈u·n⌉ − 1 of
 * sorted values. ClickHouse's quantileExactWeighted uses the same rule, so both sides agree.
 */
export function empiricalQuantile(sorted: ArrayLike<number>, u: number): number {
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(u * sorted.length) - 1))]!;
}

/** numpy's default (linear) quantile of sorted values. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

/** The bin of a value: how many edges lie below it. */
export function binOf(edges: number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A feature's reference profile from a reference sample (training data, or a window of traffic
 * read once). Numerical bins cut at the reference's deciles (duplicates merged), so each holds
 * about a tenth of the reference; drift then costs a pass over current rows per window, whatever
 * the reference's size.
 */
export function profileFromValues(spec: FeatureSpec, values: number[], bins = 10): FeatureProfile {
  const finite = values.filter(Number.isFinite);
  if (spec.kind === "categorical") {
    const categories = spec.categories ?? [];
    const counts = new Array<number>(categories.length).fill(0);
    for (const v of finite) {
      const code = Math.round(v);
      if (code >= 0 && code < categories.length) counts[code]!++;
    }
    return { kind: "categorical", feature: spec.name, sampleSize: counts.reduce((a, b) => a + b, 0), categories, counts };
  }
  if (finite.length === 0) throw new NoDataError(`no finite reference values for feature "${spec.name}"`);
  const sorted = Float64Array.from(finite).sort();
  const binEdges = [...new Set(Array.from({ length: bins - 1 }, (_, i) => quantileSorted(sorted, (i + 1) / bins)))];
  const binCounts = new Array<number>(binEdges.length + 1).fill(0);
  for (const v of sorted) binCounts[binOf(binEdges, v)]!++;
  const quantiles = QUANTILE_MIDPOINTS.map((u) => empiricalQuantile(sorted, u));
  const fineEdges = [...new Set(Array.from({ length: 999 }, (_, i) => quantileSorted(sorted, (i + 1) / 1000)))];
  const fineCounts = new Array<number>(fineEdges.length + 1).fill(0);
  for (const v of sorted) fineCounts[binOf(fineEdges, v)]!++;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  const std = Math.sqrt(sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / sorted.length);
  return {
    kind: "numerical",
    feature: spec.name,
    sampleSize: sorted.length,
    binEdges,
    binCounts,
    quantiles,
    fineEdges,
    fineCounts,
    sample: sorted.length <= REFERENCE_SAMPLE_LIMIT ? Array.from(sorted) : [],
    mean,
    std,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
  };
}

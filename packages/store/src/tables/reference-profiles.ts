import { z } from "zod";
import type { StoreEngine } from "../engine.js";
import { countValue, dateTimeColumn, floatValue, formatDateTime64Millis, insertRows, queryRows } from "./columns.js";

/**
 * What the monitor compares traffic against, per model version and monitored input; a
 * ReplacingMergeTree where the newest created_at wins (migrations/0003 and 0004).
 */
export const REFERENCE_PROFILES = "reference_profiles";

export interface NumericalProfile {
  kind: "numerical";
  feature: string;
  sampleSize: number;
  /** Inner bin edges; bin b holds values with exactly b edges below them (right-closed bins). */
  binEdges: number[];
  binCounts: number[];
  /** The empirical quantile function at the midpoints u = 0.0005, 0.0015, ..., 0.9995, from which Wasserstein-1 is integrated. */
  quantiles: number[];
  /** Fine bins cut at the distinct inner quantiles, with the reference's counts (same bin rule). */
  fineEdges: number[];
  fineCounts: number[];
  /** The reference's finite values, sorted, when there are at most REFERENCE_SAMPLE_LIMIT of them; else empty. */
  sample: number[];
  mean: number;
  std: number;
  min: number;
  max: number;
}

export interface CategoricalProfile {
  kind: "categorical";
  feature: string;
  sampleSize: number;
  categories: string[];
  counts: number[];
}

export type FeatureProfile = NumericalProfile | CategoricalProfile;

/** References up to this size are stored whole (scipy's exact Kolmogorov-Smirnov bound on either sample, too). */
export const REFERENCE_SAMPLE_LIMIT = 10_000;

export const profileInsertSchema = z.object({
  model_name: z.string(),
  model_version: z.string(),
  feature: z.string(),
  kind: z.enum(["numerical", "categorical"]),
  created_at: dateTimeColumn,
  sample_size: z.number().int(),
  bin_edges: z.array(z.number()),
  bin_counts: z.array(z.number().int()),
  quantiles: z.array(z.number()),
  fine_edges: z.array(z.number()),
  fine_counts: z.array(z.number().int()),
  sample: z.array(z.number()).max(REFERENCE_SAMPLE_LIMIT),
  categories: z.array(z.string()),
  category_counts: z.array(z.number().int()),
  mean: z.number(),
  std: z.number(),
  min: z.number(),
  max: z.number(),
});
export type ProfileInsert = z.infer<typeof profileInsertSchema>;

/** One table holds both kinds: the columns of the other kind are left empty (or 0). */
function profileRow(model: string, version: string, createdAt: string, p: FeatureProfile): ProfileInsert {
  const numerical = p.kind === "numerical" ? p : undefined;
  return {
    model_name: model,
    model_version: version,
    feature: p.feature,
    kind: p.kind,
    created_at: createdAt,
    sample_size: p.sampleSize,
    bin_edges: numerical?.binEdges ?? [],
    bin_counts: numerical?.binCounts ?? [],
    quantiles: numerical?.quantiles ?? [],
    fine_edges: numerical?.fineEdges ?? [],
    fine_counts: numerical?.fineCounts ?? [],
    sample: numerical?.sample ?? [],
    categories: p.kind === "categorical" ? p.categories : [],
    category_counts: p.kind === "categorical" ? p.counts : [],
    mean: numerical?.mean ?? 0,
    std: numerical?.std ?? 0,
    min: numerical?.min ?? 0,
    max: numerical?.max ?? 0,
  };
}

export const profileReadSchema = z
  .object({
    feature: z.string(),
    kind: z.string(),
    sample_size: countValue,
    bin_edges: z.array(z.number()),
    bin_counts: z.array(countValue),
    quantiles: z.array(z.number()),
    fine_edges: z.array(z.number()),
    fine_counts: z.array(countValue),
    sample: z.array(z.number()),
    categories: z.array(z.string()),
    category_counts: z.array(countValue),
    mean: floatValue,
    std: floatValue,
    min: floatValue,
    max: floatValue,
  })
  .transform(
    (r): FeatureProfile =>
      r.kind === "categorical"
        ? { kind: "categorical", feature: r.feature, sampleSize: r.sample_size, categories: r.categories, counts: r.category_counts }
        : {
            kind: "numerical",
            feature: r.feature,
            sampleSize: r.sample_size,
            binEdges: r.bin_edges,
            binCounts: r.bin_counts,
            quantiles: r.quantiles,
            fineEdges: r.fine_edges,
            fineCounts: r.fine_counts,
            sample: r.sample,
            mean: r.mean,
            std: r.std,
            min: r.min,
            max: r.max,
          },
  );

/** Stores profiles for a model version; saving again replaces them (newest created_at wins). */
export async function saveProfiles(engine: StoreEngine, model: string, version: string, profiles: FeatureProfile[]): Promise<void> {
  const createdAt = formatDateTime64Millis(Date.now());
  await insertRows(
    engine,
    REFERENCE_PROFILES,
    profiles.map((p) => profileRow(model, version, createdAt, p)),
  );
}

/** The stored profiles of a model version, by feature name. */
export function loadProfiles(engine: StoreEngine, model: string, version: string): Promise<FeatureProfile[]> {
  return queryRows(
    engine,
    profileReadSchema,
    `SELECT feature, kind, sample_size, bin_edges, bin_counts, quantiles, fine_edges, fine_counts, sample, categories, category_counts, mean, std, min, max
     FROM ${REFERENCE_PROFILES} FINAL WHERE model_name = {model:String} AND model_version = {version:String} ORDER BY feature`,
    { model, version },
  );
}

import { z } from "zod";
import type { StoreEngine } from "../engine.js";
import { dateTimeColumn, formatDateTime64Millis, insertRows, queryRows } from "./columns.js";

/** Multivariate drift models fitted on a version's reference, one per model version (migrations/0009). */
export const RECONSTRUCTION_FITS = "reconstruction_fits";

/**
 * A fitted reconstruction-error drift model: per input (in this order) where the prediction log
 * holds it, how it is imputed, encoded and scaled; the kept principal components of the scaled
 * reference; and how much the reference's own mean error moves.
 */
export const reconstructionFitSchema = z.object({
  features: z.array(z.string()),
  /** Position of each input in the prediction log's `features` array. */
  indices: z.array(z.number().int().min(0)),
  categorical: z.array(z.boolean()),
  /** Replaces a missing or non-finite value: the reference mean, or its most frequent category code. */
  impute: z.array(z.number()),
  /** Categorical inputs: each code's share of the reference rows (unseen codes encode to 0); [] for numerical ones. */
  frequencies: z.array(z.array(z.number())),
  means: z.array(z.number()),
  scales: z.array(z.number()),
  /** Mean of the scaled reference, which the components are centred on. */
  center: z.array(z.number()),
  /** Kept principal components, orthonormal rows over the inputs. */
  components: z.array(z.array(z.number())),
  explainedVarianceRatio: z.array(z.number()),
  referenceRows: z.number().int(),
  referenceMeanError: z.number(),
  /** Standard deviation of one reference row's error. */
  referenceRowStd: z.number(),
  /** Variance of the reference chunks' mean error beyond what row noise explains. */
  referenceChunkExcessVariance: z.number(),
});
export type ReconstructionFit = z.infer<typeof reconstructionFitSchema>;

const fitInsertSchema = z.object({ model_name: z.string(), model_version: z.string(), created_at: dateTimeColumn, fit: z.string() });

export async function saveReconstructionFit(engine: StoreEngine, model: string, version: string, fit: ReconstructionFit): Promise<void> {
  await insertRows(engine, RECONSTRUCTION_FITS, [
    fitInsertSchema.parse({ model_name: model, model_version: version, created_at: formatDateTime64Millis(Date.now()), fit: JSON.stringify(fit) }),
  ]);
}

const fitReadSchema = z.object({ fit: z.string() }).transform((r) => reconstructionFitSchema.parse(JSON.parse(r.fit)));

/** The stored fit of a model version, if any. */
export async function loadReconstructionFit(engine: StoreEngine, model: string, version: string): Promise<ReconstructionFit | undefined> {
  const [fit] = await queryRows(
    engine,
    fitReadSchema,
    `SELECT fit FROM ${RECONSTRUCTION_FITS} FINAL WHERE model_name = {model:String} AND model_version = {version:String}`,
    { model, version },
  );
  return fit;
}

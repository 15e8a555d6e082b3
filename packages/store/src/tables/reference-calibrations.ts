import { z } from "zod";
import type { StoreEngine } from "../engine.js";
import { clickHouseFloat, countValue, dateTimeColumn, floatColumn, floatValue, formatDateTime64Millis, insertRows, queryRows } from "./columns.js";

/**
 * What confidence-based performance estimation needs of a model version's labelled reference:
 * its score calibrators and its sampling-error components; a ReplacingMergeTree where the newest
 * created_at wins (migrations/0008_reference_calibrations.sql).
 */
export const REFERENCE_CALIBRATIONS = "reference_calibrations";

/**
 * An isotonic calibrator as scikit-learn keeps it: scores at the ends of each constant block
 * (ascending) and the calibrated value there; in between it interpolates linearly, outside it
 * clips. Empty when the class's scores are used as they are.
 */
export interface ScoreCalibrator {
  thresholds: number[];
  values: number[];
}

/** One class's calibration: whether the reference's scores needed it, and the evidence (expected calibration error before and after, NaN when undecided). */
export interface ClassCalibration extends ScoreCalibrator {
  calibrated: boolean;
  eceRaw: number;
  eceCalibrated: number;
}

/** A population standard deviation over the reference rows a figure depends on, and the share of rows those are. */
export interface SamplingComponent {
  std: number;
  share: number;
}

export interface ReferenceCalibration {
  classes: string[];
  sampleSize: number;
  /** Binary models: one entry, for the positive (last) class. Multiclass: one per class. */
  calibrators: ClassCalibration[];
  accuracyStd: number;
  /** One-vs-rest components per class, in `classes` order. */
  perClass: Array<{ precision: SamplingComponent; recall: SamplingComponent; f1: SamplingComponent; rocAuc: SamplingComponent }>;
}

const floats = z.array(floatColumn);

export const calibrationInsertSchema = z.object({
  model_name: z.string(),
  model_version: z.string(),
  created_at: dateTimeColumn,
  classes: z.array(z.string()),
  sample_size: z.number().int(),
  calibrated: z.array(z.union([z.literal(0), z.literal(1)])),
  thresholds: z.array(z.array(z.number())),
  calibrated_values: z.array(z.array(z.number())),
  ece_raw: floats,
  ece_calibrated: floats,
  accuracy_std: floatColumn,
  precision_std: floats,
  precision_share: floats,
  recall_std: floats,
  recall_share: floats,
  f1_std: floats,
  f1_share: floats,
  roc_auc_std: floats,
  roc_auc_share: floats,
});
export type CalibrationInsert = z.infer<typeof calibrationInsertSchema>;

const COMPONENTS = ["precision", "recall", "f1", "rocAuc"] as const;
const COLUMN: Record<(typeof COMPONENTS)[number], string> = { precision: "precision", recall: "recall", f1: "f1", rocAuc: "roc_auc" };

/** Stores a model version's calibration; saving again replaces it. */
export async function saveCalibration(engine: StoreEngine, model: string, version: string, c: ReferenceCalibration): Promise<void> {
  const column = (pick: (k: ReferenceCalibration["perClass"][number]) => number) => c.perClass.map((k) => clickHouseFloat(pick(k)));
  const components = Object.fromEntries(
    COMPONENTS.flatMap((name) => [
      [`${COLUMN[name]}_std`, column((k) => k[name].std)],
      [`${COLUMN[name]}_share`, column((k) => k[name].share)],
    ]),
  );
  const row = calibrationInsertSchema.parse({
    model_name: model,
    model_version: version,
    created_at: formatDateTime64Millis(Date.now()),
    classes: c.classes,
    sample_size: c.sampleSize,
    calibrated: c.calibrators.map((k) => (k.calibrated ? 1 : 0)),
    thresholds: c.calibrators.map((k) => k.thresholds),
    calibrated_values: c.calibrators.map((k) => k.values),
    ece_raw: c.calibrators.map((k) => clickHouseFloat(k.eceRaw)),
    ece_calibrated: c.calibrators.map((k) => clickHouseFloat(k.eceCalibrated)),
    accuracy_std: clickHouseFloat(c.accuracyStd),
    ...components,
  });
  await insertRows(engine, REFERENCE_CALIBRATIONS, [row]);
}

const floatArray = z.array(floatValue);

export const calibrationReadSchema = z
  .object({
    classes: z.array(z.string()),
    sample_size: countValue,
    calibrated: z.array(countValue),
    thresholds: z.array(z.array(z.number())),
    calibrated_values: z.array(z.array(z.number())),
    ece_raw: floatArray,
    ece_calibrated: floatArray,
    accuracy_std: floatValue,
    precision_std: floatArray,
    precision_share: floatArray,
    recall_std: floatArray,
    recall_share: floatArray,
    f1_std: floatArray,
    f1_share: floatArray,
    roc_auc_std: floatArray,
    roc_auc_share: floatArray,
  })
  .transform(
    (r): ReferenceCalibration => ({
      classes: r.classes,
      sampleSize: r.sample_size,
      calibrators: r.calibrated.map((flag, i) => ({
        calibrated: flag === 1,
        thresholds: r.thresholds[i] ?? [],
        values: r.calibrated_values[i] ?? [],
        eceRaw: r.ece_raw[i] ?? Number.NaN,
        eceCalibrated: r.ece_calibrated[i] ?? Number.NaN,
      })),
      accuracyStd: r.accuracy_std,
      perClass: r.classes.map((_, i) => ({
        precision: { std: r.precision_std[i] ?? Number.NaN, share: r.precision_share[i] ?? Number.NaN },
        recall: { std: r.recall_std[i] ?? Number.NaN, share: r.recall_share[i] ?? Number.NaN },
        f1: { std: r.f1_std[i] ?? Number.NaN, share: r.f1_share[i] ?? Number.NaN },
        rocAuc: { std: r.roc_auc_std[i] ?? Number.NaN, share: r.roc_auc_share[i] ?? Number.NaN },
      })),
    }),
  );

/** The stored calibration of a model version, if one was fitted. */
export async function loadCalibration(engine: StoreEngine, model: string, version: string): Promise<ReferenceCalibration | undefined> {
  const [row] = await queryRows(
    engine,
    calibrationReadSchema,
    `SELECT classes, sample_size, calibrated, thresholds, calibrated_values, ece_raw, ece_calibrated, accuracy_std,
            precision_std, precision_share, recall_std, recall_share, f1_std, f1_share, roc_auc_std, roc_auc_share
     FROM ${REFERENCE_CALIBRATIONS} FINAL WHERE model_name = {model:String} AND model_version = {version:String}`,
    { model, version },
  );
  return row;
}

import { type ReferenceCalibration, type StoreEngine, loadCalibration, saveCalibration } from "@vigil/store";
import { type CalibrationSample, fitCalibration } from "./cbpe.js";
import { ConfigError, NoDataError } from "./errors.js";
import { SCORED } from "./quality-sql.js";
import { fileExists, referenceRows } from "./reference.js";
import type { Window } from "./window.js";

/**
 * The labelled rows of a reference file: those with a `label` that is one of the classes, a
 * `prediction` that is one, and a score for every class. Undefined when the file has none (a
 * reference of unlabelled rows serves drift only); a label or scores that do not fit the classes
 * is an error, since it means the file describes another model.
 */
export async function calibrationSampleFromFile(path: string, classes: string[]): Promise<CalibrationSample | undefined> {
  const sample: CalibrationSample = { classes, labels: [], predictions: [], scores: [] };
  let line = 0;
  for await (const row of referenceRows(path)) {
    line++;
    if (row.label === undefined) continue;
    const label = classes.indexOf(row.label);
    if (label < 0) throw new ConfigError(`${path} row ${line}: label "${row.label}" is none of the model's classes (${classes.join(", ")})`);
    if (row.scores?.length !== classes.length) {
      throw new ConfigError(`${path} row ${line}: a labelled reference row needs "scores" with one number per class (${classes.length})`);
    }
    const prediction = classes.indexOf(row.prediction ?? "");
    if (prediction < 0) throw new ConfigError(`${path} row ${line}: a labelled reference row needs "prediction", one of ${classes.join(", ")}`);
    sample.labels.push(label);
    sample.predictions.push(prediction);
    sample.scores.push(row.scores);
  }
  return sample.labels.length === 0 ? undefined : sample;
}

/** The labelled predictions of a window of served traffic (newest label per row), as a calibration reference. */
export async function calibrationSampleFromWindow(
  engine: StoreEngine,
  query: { model: string; version?: string; classes: string[]; window: Window },
): Promise<CalibrationSample> {
  const rows = await engine.query<{ y: number; yhat: number; scores: number[] }>(`SELECT y, yhat, scores FROM (${SCORED}) WHERE yhat >= 0`, {
    model: query.model,
    version: query.version ?? "",
    from: Math.floor(query.window.fromUs),
    to: Math.floor(query.window.toUs),
    classes: query.classes,
  });
  if (rows.length === 0) {
    throw new NoDataError(`model ${query.model}${query.version ? ` version ${query.version}` : ""} has no labelled predictions in the reference window`);
  }
  return {
    classes: query.classes,
    labels: rows.map((r) => Number(r.y)),
    predictions: rows.map((r) => Number(r.yhat)),
    scores: rows.map((r) => r.scores),
  };
}

/** Fits the calibration of a model version on a labelled window of its traffic and stores it, replacing any earlier one. */
export async function calibrateFromWindow(
  engine: StoreEngine,
  query: { model: string; version: string; classes: string[]; window: Window },
): Promise<ReferenceCalibration> {
  const calibration = fitCalibration(await calibrationSampleFromWindow(engine, query));
  await saveCalibration(engine, query.model, query.version, calibration);
  return calibration;
}

const sameClasses = (a: string[], b: string[]) => a.length === b.length && a.every((c, i) => c === b[i]);

/**
 * The stored calibration of a model version; when there is none (or it was fitted for other
 * classes), one fitted on the labelled rows of its reference file and saved. Undefined when
 * neither exists: performance is then not estimated for that version.
 */
export async function ensureCalibration(
  engine: StoreEngine,
  model: { name: string; version: string; classes: string[]; referenceFile?: string },
): Promise<ReferenceCalibration | undefined> {
  const stored = await loadCalibration(engine, model.name, model.version);
  if (stored && sameClasses(stored.classes, model.classes)) return stored;
  if (!model.referenceFile) return undefined;
  const exists = await fileExists(model.referenceFile);
  const sample = exists ? await calibrationSampleFromFile(model.referenceFile, model.classes) : undefined;
  if (!sample) return undefined;
  const calibration = fitCalibration(sample);
  await saveCalibration(engine, model.name, model.version, calibration);
  return calibration;
}

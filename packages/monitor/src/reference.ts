import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import { type ReconstructionFit, type StoreEngine, loadProfiles, loadReconstructionFit, saveProfiles, saveReconstructionFit } from "@vigil/store";
import { windowValueCounts, windowValueParams } from "./drift.js";
import { ConfigError, NoDataError } from "./errors.js";
import { fitReconstruction } from "./multivariate.js";
import { type FeatureProfile, type FeatureSpec, profileFromValues } from "./profiles.js";
import type { Window } from "./window.js";

/**
 * One row of a reference file: the monitored features in the model's order, and what the model
 * answered. A classifier's rows may also carry every class's score and the true class, which
 * makes the file a labelled reference for performance estimation (cbpe-reference.ts).
 */
export interface ReferenceRow {
  features: number[];
  prediction?: string;
  confidence?: number;
  scores?: number[];
  label?: string;
}

function parseReferenceRow(line: string, where: string): ReferenceRow {
  let row: unknown;
  try {
    row = JSON.parse(line);
  } catch (error) {
    throw new ConfigError(`${where}: not JSON (${(error as Error).message})`);
  }
  const r = row as Partial<ReferenceRow>;
  if (typeof row !== "object" || row === null || !Array.isArray(r.features) || !r.features.every((v) => typeof v === "number" || v === null)) {
    throw new ConfigError(`${where}: expected {"features": [numbers], "prediction"?: string, "confidence"?: number, "scores"?: [numbers], "label"?: string}`);
  }
  if (r.prediction !== undefined && typeof r.prediction !== "string") throw new ConfigError(`${where}: "prediction" must be a string`);
  if (r.confidence !== undefined && typeof r.confidence !== "number") throw new ConfigError(`${where}: "confidence" must be a number`);
  if (r.scores !== undefined && !(Array.isArray(r.scores) && r.scores.every((v) => typeof v === "number"))) {
    throw new ConfigError(`${where}: "scores" must be an array of numbers, one per class`);
  }
  if (r.label !== undefined && typeof r.label !== "string") throw new ConfigError(`${where}: "label" must be a string (the true class)`);
  return r as ReferenceRow;
}

/** The value one monitored input takes in a reference row, as the prediction log would hold it (NaN when absent). */
function referenceValue(spec: FeatureSpec, row: ReferenceRow): number {
  switch (spec.source ?? "feature") {
    case "feature":
      return row.features[spec.index] ?? Number.NaN;
    case "prediction":
      return row.prediction === undefined || row.prediction === "" ? Number.NaN : (spec.categories ?? []).indexOf(row.prediction);
    case "confidence":
      return row.confidence ?? Number.NaN;
  }
}

/** The rows of a reference file (JSON lines, one reference row each), read as a stream; blank lines are skipped. */
export async function* referenceRows(path: string): AsyncGenerator<ReferenceRow> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === "") continue;
    yield parseReferenceRow(line, `${path} line ${lineNumber}`);
  }
}

/** Every monitored input's values in a reference file. */
async function referenceColumns(path: string, specs: FeatureSpec[]): Promise<number[][]> {
  const columns = specs.map(() => [] as number[]);
  for await (const row of referenceRows(path)) {
    for (const [i, spec] of specs.entries()) columns[i]!.push(referenceValue(spec, row));
  }
  if (columns[0]?.length === 0) throw new ConfigError(`reference file ${path} holds no rows`);
  return columns;
}

/**
 * Profiles from a reference file. A prediction that is none of the classes counts as outside, as
 * it would in the prediction log.
 */
export async function profilesFromFile(path: string, specs: FeatureSpec[]): Promise<FeatureProfile[]> {
  const columns = await referenceColumns(path, specs);
  return specs.map((spec, i) => profileFromValues(spec, columns[i]!));
}

/** Profiles from a window of served traffic (its OK predictions), read from the prediction log in one query. */
export async function profilesFromWindow(
  engine: StoreEngine,
  query: { model: string; version?: string; window: Window; features: FeatureSpec[] },
): Promise<FeatureProfile[]> {
  const rows = await engine.query<{ i: number; x: number; n: string | number }>(windowValueCounts(query.features), windowValueParams(query));
  const columns = query.features.map(() => [] as number[]);
  for (const r of rows) {
    const column = columns[Number(r.i)]!;
    for (let k = Number(r.n); k > 0; k--) column.push(r.x);
  }
  if (columns.every((c) => c.length === 0)) {
    throw new NoDataError(`model ${query.model}${query.version ? ` version ${query.version}` : ""} has no OK predictions in the reference window`);
  }
  return query.features.map((spec, i) => profileFromValues(spec, columns[i]!));
}

/** Whether a file is there to read (a version's reference.jsonl is optional). */
export const fileExists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * The stored reconstruction-error drift model of a model version, fitted on its reference file
 * and saved the first time it is missing. Undefined without a reference file, or when the model
 * has fewer than two feature inputs.
 */
export async function ensureReconstruction(
  engine: StoreEngine,
  model: { name: string; version: string; features: FeatureSpec[]; referenceFile?: string },
): Promise<ReconstructionFit | undefined> {
  const stored = await loadReconstructionFit(engine, model.name, model.version);
  const names = model.features.filter((f) => (f.source ?? "feature") === "feature").map((f) => f.name);
  if (stored && stored.features.join("\u0000") === names.join("\u0000")) return stored;
  if (!model.referenceFile || !(await fileExists(model.referenceFile))) return undefined;
  const fit = fitReconstruction(model.features, await referenceColumns(model.referenceFile, model.features));
  if (fit) await saveReconstructionFit(engine, model.name, model.version, fit);
  return fit;
}

const covers = (profiles: FeatureProfile[], specs: FeatureSpec[]) =>
  specs.every((spec) => profiles.some((p) => p.feature === spec.name && p.kind === spec.kind));

/**
 * The stored profiles of a model version, built from its reference file and saved the first
 * time they are missing (or no longer cover the monitored inputs). Undefined when there is
 * neither: drift is then not judged for that version.
 */
export async function ensureProfiles(
  engine: StoreEngine,
  model: { name: string; version: string; features: FeatureSpec[]; referenceFile?: string },
): Promise<FeatureProfile[] | undefined> {
  const stored = await loadProfiles(engine, model.name, model.version);
  if (covers(stored, model.features)) return stored;
  if (!model.referenceFile || !(await fileExists(model.referenceFile))) return undefined;
  const built = await profilesFromFile(model.referenceFile, model.features);
  await saveProfiles(engine, model.name, model.version, built);
  return built;
}

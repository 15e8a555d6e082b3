import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  type ConfigWarning,
  MODEL_CONFIG_FILE,
  type ModelConfig,
  REFERENCE_FILE,
  readModelConfig,
  versionDirectory,
  versionsOnDisk,
} from "@vigil/model-repository";
import type { ReferenceCalibration, StoreEngine } from "@vigil/store";
import type { Registry } from "prom-client";
import type { ModelLookup, RepositoryListing } from "./api/route.js";
import { ensureCalibration } from "./cbpe-reference.js";
import { driftOptionsFor, type MonitorConfig } from "./monitor-config.js";
import { type ModelSource, type MonitoredModel, MonitorJob, servedVersions } from "./job.js";
import type { FeatureProfile, FeatureSpec } from "./profiles.js";
import type { ReconstructionFit } from "./multivariate.js";
import type { RolloutModel } from "./rollout/rollout-monitor.js";
import { ensureProfiles, ensureReconstruction } from "./reference.js";
import type { MonitorResult } from "./results.js";
import type { Window } from "./window.js";
import { ConfigError } from "./errors.js";

/** A model as the monitor needs to know it: its repository config and directory. */
export interface CatalogModel {
  name: string;
  config: ModelConfig;
  /** The model's directory in the repository (version directories below it). */
  dir: string;
}

/**
 * What the monitor watches of a model: its monitored features, in the order the prediction log
 * records them, then for a classifier the predicted class and the confidence.
 */
export function monitoredInputs(config: ModelConfig): FeatureSpec[] {
  const features: FeatureSpec[] = config.monitored_features.map((f, index) => ({ name: f.name, index, kind: f.kind, categories: f.categories }));
  if (!config.classes) return features;
  return [
    ...features,
    { name: "prediction", index: 0, kind: "categorical", categories: config.classes, source: "prediction" },
    { name: "confidence", index: 0, kind: "numerical", source: "confidence" },
  ];
}

/**
 * Models in a repository directory, read from their config files; unreadable ones are reported
 * and left out, and deprecated fields go to `onWarning`.
 */
export function readCatalog(root: string, onError: (error: Error) => void, onWarning?: ConfigWarning): CatalogModel[] {
  if (!existsSync(root)) throw new ConfigError(`model repository ${root} does not exist`);
  const models: CatalogModel[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const configPath = join(root, entry.name, MODEL_CONFIG_FILE);
    if (!entry.isDirectory() || !existsSync(configPath)) continue;
    try {
      models.push({ name: entry.name, config: readModelConfig(configPath, onWarning), dir: join(root, entry.name) });
    } catch (error) {
      onError(error as Error);
    }
  }
  return models;
}

/**
 * The monitor's model source: every version of a catalogued model that served OK traffic in the
 * window, with the model's monitored inputs and its version's reference profiles (built from the
 * version's reference.jsonl the first time, then read from the store). A version without
 * profiles is still evaluated for quality; its drift is skipped until a profile exists. A
 * classifier's version with a stored calibration, or labelled rows in its reference.jsonl, also
 * gets its performance estimated (CBPE).
 */
export function catalogSource(
  engine: StoreEngine,
  catalog: () => CatalogModel[],
  config: MonitorConfig,
  onNote: (note: string) => void = () => {},
): ModelSource {
  const profiles = new Map<string, FeatureProfile[]>();
  const reconstructions = new Map<string, ReconstructionFit | undefined>();
  const calibrations = new Map<string, ReferenceCalibration>();
  /** Versions whose reference.jsonl held no labelled rows: later windows look only for a stored calibration. */
  const unlabelledReferences = new Set<string>();
  const noted = new Set<string>();
  return async (window) => {
    const models = new Map(
      catalog()
        .filter((m) => config.models[m.name]?.enabled !== false)
        .map((m) => [m.name, m]),
    );
    const monitored: MonitoredModel[] = [];
    for (const served of await servedVersions(engine, window)) {
      const model = models.get(served.model);
      if (!model) continue;
      const inputs = monitoredInputs(model.config);
      const key = `${served.model}\u0000${served.version}`;
      let found = profiles.get(key);
      if (!found && inputs.length > 0) {
        found = await ensureProfiles(engine, {
          name: served.model,
          version: served.version,
          features: inputs,
          referenceFile: join(versionDirectory(model.dir, served.version), REFERENCE_FILE),
        });
        if (found) profiles.set(key, found);
        else if (!noted.has(key)) {
          noted.add(key);
          onNote(
            `model ${served.model} version ${served.version} has no reference profile and no ${REFERENCE_FILE}; drift is skipped until one is built (vigil profile)`,
          );
        }
      }
      if (found && !reconstructions.has(key)) {
        const referenceFile = join(versionDirectory(model.dir, served.version), REFERENCE_FILE);
        reconstructions.set(key, await ensureReconstruction(engine, { name: served.model, version: served.version, features: inputs, referenceFile }));
      }
      const classes = model.config.classes;
      if (classes && !calibrations.has(key)) {
        const referenceFile = unlabelledReferences.has(key) ? undefined : join(versionDirectory(model.dir, served.version), REFERENCE_FILE);
        const calibration = await ensureCalibration(engine, { name: served.model, version: served.version, classes, referenceFile });
        if (calibration) calibrations.set(key, calibration);
        else unlabelledReferences.add(key);
      }
      const { datasetDriftShare, ...decisions } = driftOptionsFor(config, served.model);
      monitored.push({
        name: served.model,
        version: served.version,
        classes: model.config.classes,
        features: found ? inputs : [],
        profiles: found ?? [],
        reconstruction: found ? reconstructions.get(key) : undefined,
        calibration: calibrations.get(key),
        decisions,
        datasetDriftShare,
      });
    }
    return monitored;
  };
}

/** The catalogued models' rollout policies, for rollout judging and the API. */
export function catalogRollouts(catalog: () => CatalogModel[]): () => RolloutModel[] {
  return () => catalog().map((m) => ({ name: m.name, rollout: m.config.rollout, classifier: m.config.classes !== undefined }));
}

/** Starts the monitor's schedule over a model source; failures go to `onError` and the job's health, never crash the process. */
export function startMonitor(
  engine: StoreEngine,
  source: ModelSource,
  config: MonitorConfig,
  hooks: {
    registry?: Registry;
    onError: (error: Error) => void;
    onResults?: (window: Window, results: MonitorResult[]) => void;
    rollouts?: (window: Window) => Promise<MonitorResult[]>;
  },
): MonitorJob {
  const job = new MonitorJob(engine, source, { windowMs: config.window, everyMs: config.step, lagMs: config.lag, ...hooks });
  job.start();
  return job;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** One line per model version for a finished window: the headline quality figures and which inputs drifted. */
export function describeResults(window: Window, results: MonitorResult[]): string[] {
  const span = `${new Date(window.fromUs / 1000).toISOString().slice(11, 19)}-${new Date(window.toUs / 1000).toISOString().slice(11, 19)}`;
  const byModel = new Map<string, MonitorResult[]>();
  for (const r of results) {
    const key = `${r.model} v${r.version}`;
    byModel.set(key, [...(byModel.get(key) ?? []), r]);
  }
  if (byModel.size === 0) return [`monitor ${span}: no traffic`];
  return [...byModel].map(([model, rows]) => {
    const get = (metric: string, kind = "quality") => rows.find((r) => r.kind === kind && r.metric === metric && r.feature === "");
    const accuracy = get("accuracy");
    const coverage = get("label_coverage");
    const estimated = get("accuracy", "estimated");
    const estimateText = estimated ? `, estimated accuracy ${pct(estimated.value)}` : "";
    const drift = rows.filter((r) => r.kind === "drift" && r.feature !== "");
    const drifted = drift.filter((r) => r.breached).map((r) => r.feature);
    const quality = accuracy
      ? `accuracy ${pct(accuracy.value)} on ${String(accuracy.details.rows)} labelled (coverage ${coverage ? pct(coverage.value) : "-"})`
      : "no labels yet";
    const qualityText = `${quality}${estimateText}`;
    const driftText =
      drift.length === 0
        ? "drift not judged (no reference profile)"
        : `drift in ${drifted.length}/${drift.length} inputs${drifted.length > 0 ? `: ${drifted.join(", ")}` : ""}`;
    return `monitor ${span} ${model}: ${qualityText}; ${driftText}`;
  });
}

/**
 * The monitor API's view of a model: its classes and monitored inputs from the catalog, and its
 * version's reference profiles (built from reference.jsonl when missing). Inputs without a
 * profile are left out, so drift views show what can be judged.
 */
export function catalogLookup(engine: StoreEngine, catalog: () => CatalogModel[]): ModelLookup {
  return async (name, version) => {
    const model = catalog().find((m) => m.name === name);
    if (!model) return undefined;
    const inputs = monitoredInputs(model.config);
    const profiles =
      version && inputs.length > 0
        ? await ensureProfiles(engine, { name, version, features: inputs, referenceFile: join(versionDirectory(model.dir, version), REFERENCE_FILE) })
        : undefined;
    return { name, version, classes: model.config.classes, features: profiles ? inputs : [], profiles: profiles ?? [], inputs };
  };
}

/** The catalogued models with their version directories (numeric names only, oldest first), for the API's model list. */
export function catalogRepository(catalog: () => CatalogModel[]): RepositoryListing {
  return async () =>
    catalog().map((model) => {
      const versions = versionsOnDisk(model.dir).map(String);
      return {
        name: model.name,
        versions: versions.map((version) => ({ version, referenceFile: existsSync(join(versionDirectory(model.dir, version), REFERENCE_FILE)) })),
        classes: model.config.classes,
        inputs: monitoredInputs(model.config),
      };
    });
}

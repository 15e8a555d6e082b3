import { durationSchema, formatZodIssues, readJsonObject } from "@vigil/config";
import { z } from "zod";
import type { DecisionOptions } from "./decision.js";
import { ConfigError } from "./errors.js";

const DRIFT_METHODS = ["ks", "chisquare", "ztest", "wasserstein", "jensenshannon", "psi"] as const;

const driftSettings = z.strictObject({
  /** Reference size up to which statistical tests judge drift (Evidently's 1000). */
  small_reference: z.number().int().min(0).optional(),
  /** p-value at or below which a test calls drift. */
  p_value: z.number().gt(0).lt(1).optional(),
  /** Distance (normalised Wasserstein, Jensen-Shannon, PSI) at or above which drift is called. */
  distance: z.number().positive().optional(),
  /** Share of drifted inputs at or above which the dataset counts as drifted. */
  dataset_drift_share: z.number().gt(0).max(1).optional(),
  /** Per input (feature name, "prediction" or "confidence"): method and threshold overrides. */
  features: z.record(z.string().min(1), z.strictObject({ method: z.enum(DRIFT_METHODS).optional(), threshold: z.number().positive().optional() })).optional(),
});

type DriftSettings = z.infer<typeof driftSettings>;

export const monitorConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Length of a monitored window. */
    window: durationSchema.prefault("1h"),
    /** How often a window is evaluated; equal to window (tumbling) when absent, shorter for sliding windows. */
    step: durationSchema.optional(),
    /** Time left for late rows, labels especially, before a window is evaluated. */
    lag: durationSchema.prefault("2m"),
    /** Drift defaults for every model. */
    drift: driftSettings.default({}),
    /** Per-model settings, by model name; models not named are monitored with the defaults. */
    models: z.record(z.string().min(1), z.strictObject({ enabled: z.boolean().default(true), drift: driftSettings.default({}) })).default({}),
  })
  .superRefine((config, ctx) => {
    if (config.window <= 0) ctx.addIssue({ code: "custom", path: ["window"], message: "must be longer than 0" });
    if (config.step !== undefined && (config.step <= 0 || config.step > config.window)) {
      ctx.addIssue({ code: "custom", path: ["step"], message: `must be longer than 0 and at most the window (${config.window} ms)` });
    }
  })
  .transform((config) => ({ ...config, step: config.step ?? config.window }));

export type MonitorConfig = z.output<typeof monitorConfigSchema>;
export type MonitorConfigInput = z.input<typeof monitorConfigSchema>;

/** Reads and validates a monitor config file (JSON) merged under `overrides`, naming every wrong field. */
export function loadMonitorConfig({ file, overrides = {} }: { file?: string; overrides?: MonitorConfigInput } = {}): MonitorConfig {
  const fromFile = file ? readJsonObject(file, "monitor config") : {};
  const result = monitorConfigSchema.safeParse({ ...fromFile, ...overrides });
  if (!result.success) throw new ConfigError(formatZodIssues(`monitor config${file ? ` ${file}` : ""}`, result.error));
  return result.data;
}

/** The drift decision options for one model: its own settings over the defaults. */
export function driftOptionsFor(config: MonitorConfig, model: string): DecisionOptions & { datasetDriftShare?: number } {
  const merged: DriftSettings = {
    ...config.drift,
    ...config.models[model]?.drift,
    features: { ...config.drift.features, ...config.models[model]?.drift.features },
  };
  return {
    smallReference: merged.small_reference,
    pValue: merged.p_value,
    distance: merged.distance,
    perFeature: merged.features,
    datasetDriftShare: merged.dataset_drift_share,
  };
}

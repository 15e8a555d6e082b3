import { durationSchema } from "@vigil/config";
import { z } from "zod";
import { SERVICE_METRICS, isMetricName } from "./signals.js";

const COMPARISONS = [">", ">=", "<", "<=", "==", "!="] as const;
export type Comparison = (typeof COMPARISONS)[number];

export function compare(value: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case ">":
      return value > threshold;
    case ">=":
      return value >= threshold;
    case "<":
      return value < threshold;
    case "<=":
      return value <= threshold;
    case "==":
      return value === threshold;
    case "!=":
      return value !== threshold;
  }
}

const common = {
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "letters, digits and '_' (it becomes the alertname label)"),
  scope: z.strictObject({ model: z.string().optional(), version: z.string().optional(), feature: z.string().optional() }).default({}),
  /** How long the condition must hold before the alert fires. */
  for: durationSchema.prefault("0s"),
  severity: z.enum(["critical", "warning", "info"]).default("warning"),
  labels: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
  /** summary, description, runbook_url, ...; `{{ $value }}` and `{{ $labels.model }}` are filled in. */
  annotations: z.record(z.string(), z.string()).default({}),
};

const thresholdRule = z.strictObject({
  ...common,
  type: z.literal("threshold"),
  metric: z.string().refine(isMetricName, {
    message: `unknown metric; one of ${SERVICE_METRICS.join(", ")}, dataset_drift_share, reconstruction_error, label_coverage, quality.<metric>, estimated.<metric>, data_quality.<metric>, drift.score, drift.detected, drift.psi, drift.jensen_shannon`,
  }),
  /** Serving metrics: the span they are computed over; monitor metrics: how far back the newest window may end. */
  range: durationSchema.prefault("5m"),
  op: z.enum(COMPARISONS),
  threshold: z.number(),
});

const anomalyRule = z.strictObject({
  ...common,
  type: z.literal("anomaly"),
  metric: z.enum(SERVICE_METRICS),
  /** The minutes before the judged one that set its expected level. */
  baseline: durationSchema.prefault("1h"),
  /** Modified z-score beyond which a minute is anomalous (Iglewicz and Hoaglin's 3.5). */
  threshold: z.number().positive().default(3.5),
  direction: z.enum(["up", "down", "both"]).default("up"),
  min_points: z.number().int().min(3).default(30),
});

export const ruleSchema = z.discriminatedUnion("type", [thresholdRule, anomalyRule]);
/** Accepts a rule without `type` as a threshold rule. */
export const ruleInputSchema = z.preprocess(
  (raw) => (typeof raw === "object" && raw !== null && !("type" in raw) ? { ...raw, type: "threshold" } : raw),
  ruleSchema,
);

export type ThresholdRule = z.output<typeof thresholdRule>;
export type AnomalyRule = z.output<typeof anomalyRule>;
export type AlertRule = ThresholdRule | AnomalyRule;

import { z } from "zod";
import type { Labels } from "./alert-labels.js";

/**
 * What an alert's value is and where it came from: the rule's condition and the stretch of time
 * the value was computed over. The API and dashboard turn it into a link to the cause (the
 * drifted feature's window, the model at that window, the slow traces of a burning SLO).
 */
export interface AlertCause {
  /** The metric the rule compares, as its config names it; `burn_rate` for SLO burn-rate rules, `z_score(<metric>)` for anomaly rules. */
  metric: string;
  op: string;
  threshold: number;
  windowStartMs: number;
  windowEndMs: number;
}

/**
 * The cause travels in the alert's stored annotations under this key (the alerts table holds
 * labels, annotations and one value), and nowhere else: notifications never carry it.
 */
export const CAUSE_ANNOTATION = "__vigil_cause";

const causeSchema = z.object({
  metric: z.string(),
  op: z.string(),
  threshold: z.number(),
  windowStartMs: z.number(),
  windowEndMs: z.number(),
});

/** Annotations as stored: the alert's own, plus its cause. */
export const withCause = (annotations: Labels, cause: AlertCause | undefined): Labels =>
  cause === undefined ? annotations : { ...annotations, [CAUSE_ANNOTATION]: JSON.stringify(cause) };

/** Stored annotations split back into the alert's own and its cause (undefined for alerts recorded before causes were, or unreadable). */
export function splitCause(stored: Labels): { annotations: Labels; cause: AlertCause | undefined } {
  const { [CAUSE_ANNOTATION]: text, ...annotations } = stored;
  if (text === undefined) return { annotations, cause: undefined };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { annotations, cause: undefined };
  }
  const parsed = causeSchema.safeParse(raw);
  return { annotations, cause: parsed.success ? parsed.data : undefined };
}

import { MONITOR_RESULTS, type StoreEngine } from "@vigil/store";
import { z } from "zod";
import type { Labels } from "../alerting/alert-labels.js";
import { ROLLED_BACK_METRIC, ROLLOUT_KIND, VERDICT_METRIC, VERDICT_VALUE } from "./rollout-monitor.js";

/** A built-in rule on the monitor's rollout results: every alerting setup has them, no configuration. */
export interface RolloutRule {
  type: "rollout";
  name: "CandidateRolledBack" | "CandidateWorse";
  severity: "critical" | "warning";
  labels: Labels;
  annotations: Labels;
}

/**
 * CandidateRolledBack (critical): a canary is rolled back, by the monitor or a person, and its
 * rollout is still configured. CandidateWorse (warning): a candidate judged worse that is not
 * rolled back (a shadow, a canary without auto_rollback, or a canary worse on latency alone).
 */
export function rolloutRules(): RolloutRule[] {
  return [
    {
      type: "rollout",
      name: "CandidateRolledBack",
      severity: "critical",
      labels: {},
      annotations: {
        summary: "Model {{ $labels.model }}: candidate version {{ $labels.version }} was rolled back; clients get the primary version",
        description: "{{ $labels.reason }}",
      },
    },
    {
      type: "rollout",
      name: "CandidateWorse",
      severity: "warning",
      labels: {},
      annotations: {
        summary: "Model {{ $labels.model }}: candidate version {{ $labels.version }} is worse than the primary version",
        description: "{{ $labels.reason }}",
      },
    },
  ];
}

const newestSchema = z.object({
  model: z.string(),
  version: z.string(),
  v: z.number(),
  details: z.string(),
  start_ms: z.coerce.number(),
  end_ms: z.coerce.number(),
});

/**
 * The newest stored result of one rollout metric per model and candidate version. A result is
 * current while no more than two of its windows (plus ten minutes for the lag) have passed since
 * it: the monitor writes one per window for as long as the model's config names the rollout.
 */
async function newestRolloutResults(engine: StoreEngine, metric: string, nowMs: number) {
  const rows = await engine.query<unknown>(
    `SELECT model_name AS model, model_version AS version, argMax(value, window_end) AS v, argMax(details, window_end) AS details,
            toUnixTimestamp64Milli(argMax(window_start, window_end)) AS start_ms, toUnixTimestamp64Milli(max(window_end)) AS end_ms
     FROM ${MONITOR_RESULTS} FINAL
     WHERE kind = {kind:String} AND metric = {metric:String} AND window_end <= fromUnixTimestamp64Milli({now:Int64}, 'UTC')
     GROUP BY model, version`,
    { kind: ROLLOUT_KIND, metric, now: Math.round(nowMs) },
  );
  return rows
    .map((r) => newestSchema.parse(r))
    .filter((r) => nowMs - r.end_ms <= 2 * (r.end_ms - r.start_ms) + 600_000)
    .map((r) => ({ model: r.model, version: r.version, value: r.v, details: z.record(z.string(), z.unknown()).parse(JSON.parse(r.details)) }));
}

/** The series a rollout rule fires for now: labels model, version and (descriptive) reason. */
export async function rolloutSeries(engine: StoreEngine, rule: RolloutRule, nowMs: number): Promise<Array<{ labels: Labels; value: number }>> {
  if (rule.name === "CandidateRolledBack") {
    const rows = await newestRolloutResults(engine, ROLLED_BACK_METRIC, nowMs);
    return rows
      .filter((r) => r.value === 1)
      .map((r) => ({ labels: { model: r.model, version: r.version, reason: String(r.details.reason ?? "") }, value: r.value }));
  }
  const rows = await newestRolloutResults(engine, VERDICT_METRIC, nowMs);
  return rows
    .filter((r) => r.value === VERDICT_VALUE.worse && r.details.state !== "rolled_back")
    .map((r) => ({ labels: { model: r.model, version: r.version, reason: String(r.details.sentence ?? "") }, value: r.value }));
}

import { z } from "zod";
import type { StoreEngine } from "../engine.js";
import { clickHouseFloat, countValue, dateTimeColumn, floatColumn, floatValue, formatDateTime64Millis, insertRows, queryRows } from "./columns.js";
import { MODEL_SCOPE, type TimeRange } from "./filters.js";

/**
 * One figure per model version, window, metric and feature; a ReplacingMergeTree keyed by all
 * of them and versioned by computed_at, so computing a window again replaces its rows
 * (migrations/0003_monitoring.sql).
 */
export const MONITOR_RESULTS = "monitor_results";

/** The dataset-level drift figure: the share of monitored inputs that drifted. */
export const DATASET_DRIFT_SHARE = "dataset_drift_share";

/**
 * What a result is about: quality (realized from labels), drift (of inputs, or multivariate),
 * data_quality (missing, out-of-range and unseen values; refused requests), rollout (a
 * candidate version judged against the primary, cumulatively since its rollout started).
 */
export const MONITOR_RESULT_KINDS = ["quality", "drift", "data_quality", "estimated", "rollout"] as const;
export type MonitorResultKind = (typeof MONITOR_RESULT_KINDS)[number];

export interface MonitorResult {
  window: TimeRange;
  model: string;
  version: string;
  kind: MonitorResultKind;
  metric: string;
  /** '' for model-level figures; a feature or class name otherwise. */
  feature: string;
  value: number;
  /** NaN when the figure has no threshold. */
  threshold: number;
  breached: boolean;
  details: Record<string, unknown>;
}

export const monitorResultInsertSchema = z.object({
  window_start: dateTimeColumn,
  window_end: dateTimeColumn,
  model_name: z.string(),
  model_version: z.string(),
  kind: z.enum(MONITOR_RESULT_KINDS),
  metric: z.string(),
  feature: z.string(),
  value: floatColumn,
  threshold: floatColumn,
  breached: z.union([z.literal(0), z.literal(1)]),
  /** JSON text. */
  details: z.string(),
  computed_at: dateTimeColumn,
});
export type MonitorResultInsert = z.infer<typeof monitorResultInsertSchema>;

function monitorResultRow(r: MonitorResult, computedAtMs: number): MonitorResultInsert {
  return {
    window_start: formatDateTime64Millis(r.window.fromUs / 1000),
    window_end: formatDateTime64Millis(r.window.toUs / 1000),
    model_name: r.model,
    model_version: r.version,
    kind: r.kind,
    metric: r.metric,
    feature: r.feature,
    value: clickHouseFloat(r.value),
    threshold: clickHouseFloat(r.threshold),
    breached: r.breached ? 1 : 0,
    details: JSON.stringify(r.details),
    computed_at: formatDateTime64Millis(computedAtMs),
  };
}

/** Writes results; rows of a window computed before are replaced by these (the newer computed_at wins). */
export async function saveMonitorResults(engine: StoreEngine, results: MonitorResult[], computedAtUs = Date.now() * 1000): Promise<void> {
  await insertRows(
    engine,
    MONITOR_RESULTS,
    results.map((r) => monitorResultRow(r, computedAtUs / 1000)),
  );
}

export const monitorResultReadSchema = z
  .object({
    window_start_us: countValue,
    window_end_us: countValue,
    model_name: z.string(),
    model_version: z.string(),
    kind: z.enum(MONITOR_RESULT_KINDS),
    metric: z.string(),
    feature: z.string(),
    value: floatValue,
    threshold: floatValue,
    breached: countValue,
    details: z.string(),
  })
  .transform(
    (r): MonitorResult => ({
      window: { fromUs: r.window_start_us, toUs: r.window_end_us },
      model: r.model_name,
      version: r.model_version,
      kind: r.kind,
      metric: r.metric,
      feature: r.feature,
      value: r.value,
      threshold: r.threshold,
      breached: r.breached === 1,
      details: z.record(z.string(), z.unknown()).parse(JSON.parse(r.details)),
    }),
  );

export interface MonitorResultQuery {
  kind: MonitorResult["kind"];
  model: string;
  /** '' for every version. */
  version: string;
  /** Windows ending in (fromMs, toMs]. */
  fromMs: number;
  toMs: number;
}

/** Stored results of one kind for a model whose windows end in the range, oldest first. */
export function readMonitorResults(engine: StoreEngine, query: MonitorResultQuery): Promise<MonitorResult[]> {
  return queryRows(
    engine,
    monitorResultReadSchema,
    `SELECT toUnixTimestamp64Micro(window_start) AS window_start_us, toUnixTimestamp64Micro(window_end) AS window_end_us,
            model_name, model_version, kind, metric, feature, value, threshold, breached, details
     FROM ${MONITOR_RESULTS} FINAL
     WHERE kind = {kind:String} AND model_name = {model:String} AND ({version:String} = '' OR model_version = {version:String})
       AND window_end > fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND window_end <= fromUnixTimestamp64Milli({to:Int64}, 'UTC')
     ORDER BY window_end, metric, feature
     LIMIT 100000`,
    { kind: query.kind, model: query.model, version: query.version, from: Math.floor(query.fromMs), to: Math.ceil(query.toMs) },
  );
}

/** A figure of every input's drift decision: its score (p-value or distance), 1 when it drifted, or a statistic from its details. */
export type FeatureDriftFigure = "score" | "detected" | "psi" | "jensen_shannon";

/** Which rows a series reads: one metric of one kind, or a figure of every per-input drift decision. */
export type ResultSeries = { kind: MonitorResult["kind"]; metric: string } | { featureDrift: FeatureDriftFigure };

/** The SQL of each figure, a closed set. */
const FIGURE_VALUE: Record<FeatureDriftFigure, string> = {
  score: "value",
  detected: "toFloat64(breached)",
  psi: "JSONExtractFloat(details, 'psi')",
  jensen_shannon: "JSONExtractFloat(details, 'jensen_shannon')",
};

const latestReadSchema = z.object({ model: z.string(), version: z.string(), feature: z.string(), v: floatValue, start_ms: countValue, end_ms: countValue });

/**
 * The value of a series in the newest window that ended in (fromMs, toMs], per model version and
 * feature in scope ('' for all); NaN where the stored figure is not a number.
 */
export async function latestMonitorValues(
  engine: StoreEngine,
  series: ResultSeries,
  scope: { model: string; version: string; feature: string },
  range: { fromMs: number; toMs: number },
): Promise<Array<{ model: string; version: string; feature: string; value: number; windowStartMs: number; windowEndMs: number }>> {
  const [filter, value] =
    "featureDrift" in series
      ? [`kind = 'drift' AND metric != '${DATASET_DRIFT_SHARE}' AND feature != ''`, FIGURE_VALUE[series.featureDrift]]
      : ["kind = {kind:String} AND metric = {metric:String}", "value"];
  const rows = await queryRows(
    engine,
    latestReadSchema,
    `SELECT model_name AS model, model_version AS version, feature, argMax(${value}, window_end) AS v,
            toUnixTimestamp64Milli(argMax(window_start, window_end)) AS start_ms, toUnixTimestamp64Milli(max(window_end)) AS end_ms
     FROM ${MONITOR_RESULTS} FINAL
     WHERE ${filter} AND ${MODEL_SCOPE} AND ({feature:String} = '' OR feature = {feature:String})
       AND window_end > fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND window_end <= fromUnixTimestamp64Milli({to:Int64}, 'UTC')
     GROUP BY model, version, feature ORDER BY model, version, feature`,
    { ...scope, ...("featureDrift" in series ? {} : { kind: series.kind, metric: series.metric }), from: range.fromMs, to: range.toMs },
  );
  return rows.map((r) => ({ model: r.model, version: r.version, feature: r.feature, value: r.v, windowStartMs: r.start_ms, windowEndMs: r.end_ms }));
}

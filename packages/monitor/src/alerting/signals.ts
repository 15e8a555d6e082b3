import { MINUTE_RANGE, MODEL_SCOPE, PREDICTIONS_PER_MINUTE, REQUESTS_PER_MINUTE, type ResultSeries, type StoreEngine, latestMonitorValues } from "@vigil/store";
import type { Labels } from "./alert-labels.js";

/** gRPC statuses that count against the service (the caller did nothing wrong); client mistakes such as INVALID_ARGUMENT do not. */
export const SERVER_FAULT_STATUSES = ["UNKNOWN", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"];

/** Serving figures computed from the per-minute rollups. */
export const SERVICE_METRICS = ["error_rate", "throughput_rps", "latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms"] as const;
export type ServiceMetric = (typeof SERVICE_METRICS)[number];

const LATENCY_LEVEL: Record<string, number> = { latency_p50_ms: 0, latency_p90_ms: 1, latency_p95_ms: 2, latency_p99_ms: 3 };

/**
 * What a rule watches. Service metrics: over the complete minutes of the range. Monitor
 * metrics: the newest monitor window that ended in the range. `reconstruction_error` is the
 * window's mean multivariate reconstruction error. `data_quality.<metric>` is any data-quality
 * figure (missing_share and the others per input, refused_share, refused_share_by_reason per status). `quality.<metric>` is any quality
 * figure (accuracy, f1_macro, roc_auc, precision with a class as feature, ...); `estimated.<metric>`
 * the same figure estimated from scores alone (CBPE), or the estimator's error as
 * `estimated.<metric>_error`; `drift.score` is a
 * drift decision's score (p-value or distance), `drift.detected` 1 when it drifted, `drift.psi`
 * and `drift.jensen_shannon` the statistics every input has.
 */
export type MetricName =
  | ServiceMetric
  | "dataset_drift_share"
  | "reconstruction_error"
  | "label_coverage"
  | `quality.${string}`
  | `estimated.${string}`
  | `data_quality.${string}`
  | `drift.${"score" | "detected" | "psi" | "jensen_shannon"}`;

export function isMetricName(name: string): name is MetricName {
  return (
    (SERVICE_METRICS as readonly string[]).includes(name) ||
    name === "dataset_drift_share" ||
    name === "reconstruction_error" ||
    name === "label_coverage" ||
    /^quality\.[a-z0-9_]+$/.test(name) ||
    /^estimated\.[a-z0-9_]+$/.test(name) ||
    /^data_quality\.[a-z0-9_]+$/.test(name) ||
    ["drift.score", "drift.detected", "drift.psi", "drift.jensen_shannon"].includes(name)
  );
}

export interface Scope {
  model?: string;
  version?: string;
  feature?: string;
}

/** One labelled value of a metric: the labels say which model, version (and feature) it is about; the window, when it was computed. */
export interface Sample {
  labels: Labels;
  value: number;
  window?: { startMs: number; endMs: number };
}

const scopeParams = (scope: Scope) => ({ model: scope.model ?? "", version: scope.version ?? "", feature: scope.feature ?? "" });
/** The complete minutes of [toMs − rangeMs, toMs). */
const minuteRange = (toMs: number, rangeMs: number) => {
  const to = Math.floor(toMs / 60_000) * 60;
  return { from: to - Math.round(rangeMs / 1000), to };
};

async function serviceSamples(engine: StoreEngine, metric: ServiceMetric, scope: Scope, nowMs: number, rangeMs: number): Promise<Sample[]> {
  const params = { ...scopeParams(scope), ...minuteRange(nowMs, rangeMs), faults: SERVER_FAULT_STATUSES };
  const where = `${MINUTE_RANGE} AND ${MODEL_SCOPE}`;
  const window = { startMs: params.from * 1000, endMs: params.to * 1000 };
  if (metric in LATENCY_LEVEL) {
    const rows = await engine.query<{ model: string; version: string; q: number[] }>(
      `SELECT model_name AS model, model_version AS version, quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(latency_us_quantiles) AS q
       FROM ${PREDICTIONS_PER_MINUTE} WHERE ${where} GROUP BY model, version ORDER BY model, version`,
      params,
    );
    return rows.map((r) => ({ labels: { model: r.model, version: r.version }, value: r.q[LATENCY_LEVEL[metric]!]! / 1000, window }));
  }
  const rows = await engine.query<{ model: string; version: string; total: string | number; bad: string | number }>(
    `SELECT model_name AS model, model_version AS version, sum(requests) AS total, sumIf(requests, status IN {faults:Array(String)}) AS bad
     FROM ${REQUESTS_PER_MINUTE} WHERE ${where} GROUP BY model, version ORDER BY model, version`,
    params,
  );
  return rows
    .filter((r) => Number(r.total) > 0)
    .map((r) => ({
      labels: { model: r.model, version: r.version },
      value: metric === "error_rate" ? Number(r.bad) / Number(r.total) : Number(r.total) / (params.to - params.from || 1),
      window,
    }));
}

/** The stored monitor results a monitor metric reads, and whether its samples are labelled by feature. */
function resultSeries(metric: MetricName): { series: ResultSeries; perFeature: boolean } {
  if (metric === "dataset_drift_share" || metric === "reconstruction_error") return { series: { kind: "drift", metric }, perFeature: false };
  if (metric === "label_coverage") return { series: { kind: "quality", metric }, perFeature: false };
  if (metric.startsWith("quality.")) return { series: { kind: "quality", metric: metric.slice("quality.".length) }, perFeature: true };
  if (metric.startsWith("estimated.")) return { series: { kind: "estimated", metric: metric.slice("estimated.".length) }, perFeature: true };
  if (metric.startsWith("data_quality.")) return { series: { kind: "data_quality", metric: metric.slice("data_quality.".length) }, perFeature: true };
  switch (metric) {
    case "drift.score":
      return { series: { featureDrift: "score" }, perFeature: true };
    case "drift.detected":
      return { series: { featureDrift: "detected" }, perFeature: true };
    case "drift.psi":
      return { series: { featureDrift: "psi" }, perFeature: true };
    default:
      return { series: { featureDrift: "jensen_shannon" }, perFeature: true };
  }
}

async function monitorSamples(engine: StoreEngine, metric: MetricName, scope: Scope, nowMs: number, rangeMs: number): Promise<Sample[]> {
  const { series, perFeature } = resultSeries(metric);
  const rows = await latestMonitorValues(engine, series, scopeParams(scope), { fromMs: Math.round(nowMs - rangeMs), toMs: Math.round(nowMs) });
  return rows
    .filter((r) => Number.isFinite(r.value))
    .map((r) => ({
      labels: { model: r.model, version: r.version, ...(perFeature && r.feature !== "" ? { feature: r.feature } : {}) },
      value: r.value,
      window: { startMs: r.windowStartMs, endMs: r.windowEndMs },
    }));
}

/** Current values of a metric, one per model version (and feature) in scope. */
export function sampleMetric(engine: StoreEngine, metric: MetricName, scope: Scope, nowMs: number, rangeMs: number): Promise<Sample[]> {
  return (SERVICE_METRICS as readonly string[]).includes(metric)
    ? serviceSamples(engine, metric as ServiceMetric, scope, nowMs, rangeMs)
    : monitorSamples(engine, metric, scope, nowMs, rangeMs);
}

/** A serving metric minute by minute over the complete minutes of a range, per model version; minutes without traffic are absent. */
export async function perMinute(
  engine: StoreEngine,
  metric: ServiceMetric,
  scope: Scope,
  nowMs: number,
  rangeMs: number,
): Promise<Array<{ labels: Labels; minutes: Map<number, number> }>> {
  const params = { ...scopeParams(scope), ...minuteRange(nowMs, rangeMs), faults: SERVER_FAULT_STATUSES };
  const where = `${MINUTE_RANGE} AND ${MODEL_SCOPE}`;
  const rows =
    metric in LATENCY_LEVEL
      ? await engine.query<{ model: string; version: string; m: number; v: number }>(
          `SELECT model_name AS model, model_version AS version, toUnixTimestamp(minute) AS m,
                  arrayElement(quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(latency_us_quantiles), ${LATENCY_LEVEL[metric]! + 1}) / 1000 AS v
           FROM ${PREDICTIONS_PER_MINUTE} WHERE ${where} GROUP BY model, version, m`,
          params,
        )
      : await engine.query<{ model: string; version: string; m: number; v: number }>(
          `SELECT model_name AS model, model_version AS version, toUnixTimestamp(minute) AS m,
                  ${metric === "error_rate" ? "sumIf(requests, status IN {faults:Array(String)}) / sum(requests)" : "sum(requests) / 60"} AS v
           FROM ${REQUESTS_PER_MINUTE} WHERE ${where} GROUP BY model, version, m`,
          params,
        );
  const series = new Map<string, { labels: Labels; minutes: Map<number, number> }>();
  for (const r of rows) {
    const key = `${r.model}\u0000${r.version}`;
    if (!series.has(key)) series.set(key, { labels: { model: r.model, version: r.version }, minutes: new Map() });
    series.get(key)!.minutes.set(Number(r.m) * 1000, Number(r.v));
  }
  return [...series.values()];
}

import {
  MINUTE_RANGE,
  MODEL_SCOPE,
  type MonitorResult,
  type MonitorResultKind,
  PREDICTIONS_PER_MINUTE,
  type PredictionFilter,
  REQUESTS_PER_MINUTE,
  type StoreEngine,
  getPrediction,
  labelKey,
  listPredictions,
  newestLabels,
  readMonitorResults,
} from "@vigil/store";
import { SERVER_FAULT_STATUSES } from "../alerting/signals.js";
import type { OverviewPoint, OverviewTotals, PredictionDetail, PredictionRow, ResultPoint, TracePrediction } from "./schemas.js";

/** A time range and the width of its points, in milliseconds. */
export interface SeriesRange {
  fromMs: number;
  toMs: number;
  stepMs: number;
}

const rangeParams = (range: SeriesRange, model: string, version: string) => ({
  model,
  version,
  from: Math.floor(range.fromMs / 60_000) * 60,
  to: Math.ceil(range.toMs / 60_000) * 60,
  step: Math.max(60, Math.round(range.stepMs / 1000)),
  faults: SERVER_FAULT_STATUSES,
});

/**
 * Traffic, server-side errors and latency percentiles per step, from the per-minute rollups
 * (two small queries, whatever the traffic): requests and errors from requests_per_minute,
 * percentiles merged from predictions_per_minute's t-digest states.
 */
export async function overviewSeries(engine: StoreEngine, range: SeriesRange, model = "", version = ""): Promise<OverviewPoint[]> {
  const params = rangeParams(range, model, version);
  const [counts, latency] = await Promise.all([
    engine.query<{ t: number; total: string | number; bad: string | number }>(
      `SELECT toUnixTimestamp(toStartOfInterval(minute, toIntervalSecond({step:UInt32}), 'UTC')) AS t, sum(requests) AS total,
              sumIf(requests, status IN {faults:Array(String)}) AS bad
       FROM ${REQUESTS_PER_MINUTE} WHERE ${MINUTE_RANGE} AND ${MODEL_SCOPE} GROUP BY t ORDER BY t`,
      params,
    ),
    engine.query<{ t: number; q: number[] }>(
      `SELECT toUnixTimestamp(toStartOfInterval(minute, toIntervalSecond({step:UInt32}), 'UTC')) AS t,
              quantilesTDigestMerge(0.5, 0.95, 0.99)(latency_us_quantiles) AS q
       FROM ${PREDICTIONS_PER_MINUTE} WHERE ${MINUTE_RANGE} AND ${MODEL_SCOPE} GROUP BY t ORDER BY t`,
      params,
    ),
  ]);
  const latencyAt = new Map(latency.map((r) => [Number(r.t), r.q]));
  return counts.map((r) => {
    const requests = Number(r.total);
    const errors = Number(r.bad);
    const q = latencyAt.get(Number(r.t));
    return {
      t: new Date(Number(r.t) * 1000).toISOString(),
      requests,
      errors,
      errorRate: requests === 0 ? null : errors / requests,
      p50Ms: q ? q[0]! / 1000 : null,
      p95Ms: q ? q[1]! / 1000 : null,
      p99Ms: q ? q[2]! / 1000 : null,
    };
  });
}

/** The same figures over the whole range, and per model version. */
export async function overviewTotals(engine: StoreEngine, range: SeriesRange, model = "", version = ""): Promise<OverviewTotals> {
  const params = rangeParams(range, model, version);
  const [perModel, [latency]] = await Promise.all([
    engine.query<{ model: string; version: string; total: string | number; bad: string | number }>(
      `SELECT model_name AS model, model_version AS version, sum(requests) AS total, sumIf(requests, status IN {faults:Array(String)}) AS bad
       FROM ${REQUESTS_PER_MINUTE} WHERE ${MINUTE_RANGE} AND ${MODEL_SCOPE} GROUP BY model, version ORDER BY model, version`,
      params,
    ),
    engine.query<{ q: number[]; n: string | number }>(
      `SELECT quantilesTDigestMerge(0.5, 0.95, 0.99)(latency_us_quantiles) AS q, count() AS n FROM ${PREDICTIONS_PER_MINUTE} WHERE ${MINUTE_RANGE} AND ${MODEL_SCOPE}`,
      params,
    ),
  ]);
  const models = perModel.map((r) => ({ model: r.model, version: r.version, requests: Number(r.total), errors: Number(r.bad) }));
  const requests = models.reduce((a, m) => a + m.requests, 0);
  const errors = models.reduce((a, m) => a + m.errors, 0);
  const hasLatency = latency !== undefined && Number(latency.n) > 0;
  return {
    requests,
    errors,
    errorRate: requests === 0 ? null : errors / requests,
    p50Ms: hasLatency ? latency.q[0]! / 1000 : null,
    p95Ms: hasLatency ? latency.q[1]! / 1000 : null,
    p99Ms: hasLatency ? latency.q[2]! / 1000 : null,
    models,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
/** ISO 8601 of a time in microseconds, to the millisecond as JSON clients read it. */
const isoOfMicros = (us: number) => iso(Math.floor(us / 1000));
/** RFC 3339 in UTC keeping the prediction log's microseconds. */
const rfc3339OfMicros = (us: number) => `${iso(Math.floor(us / 1000)).slice(0, 19)}.${String(((us % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, "0")}Z`;

/** Stored monitor results of one kind for a model whose windows end in the range, oldest first. */
export async function monitorResults(
  engine: StoreEngine,
  kind: MonitorResultKind,
  model: string,
  version: string,
  fromMs: number,
  toMs: number,
): Promise<ResultPoint[]> {
  const results = await readMonitorResults(engine, { kind, model, version, fromMs, toMs });
  return results.map(resultPoint);
}

/** A monitor result as the API shows it: times in RFC 3339, no threshold as null. */
export function resultPoint(r: MonitorResult): ResultPoint {
  return {
    windowStart: isoOfMicros(r.window.fromUs),
    windowEnd: isoOfMicros(r.window.toUs),
    metric: r.metric,
    feature: r.feature,
    value: r.value,
    threshold: Number.isFinite(r.threshold) ? r.threshold : null,
    breached: r.breached,
    details: r.details,
  };
}

export type { PredictionFilter } from "@vigil/store";
/** Where a page of the prediction log ended: the keyset the next page starts after. */
export type Cursor = NonNullable<PredictionFilter["after"]>;

/**
 * Prediction log search, newest first, a page at a time (keyset paging, see listPredictions).
 * Labels are looked up for the page's rows alone, so a page does not pay for every label.
 */
export async function searchPredictions(engine: StoreEngine, filter: PredictionFilter): Promise<{ rows: PredictionRow[]; last?: Cursor }> {
  const rows = await listPredictions(engine, filter);
  const labels = await newestLabels(engine, rows);
  const last = rows.at(-1);
  const shown = rows.map((r) => ({
    timestamp: rfc3339OfMicros(r.timestampUs),
    requestId: r.requestId,
    rowIndex: r.rowIndex,
    model: r.modelName,
    version: r.modelVersion,
    status: r.status,
    error: r.error,
    latencyMs: r.latencyUs / 1000,
    prediction: r.prediction,
    confidence: r.confidence,
    label: labels.get(labelKey(r.modelName, r.requestId, r.rowIndex))?.label ?? null,
    traceId: r.traceId,
  }));
  return { rows: shown, last: last && { timestampUs: last.timestampUs, requestId: last.requestId, rowIndex: last.rowIndex } };
}

/** Most prediction rows a trace lists: a batched request may hold hundreds. */
const TRACE_PREDICTIONS = 100;

/**
 * The prediction rows logged by a trace's requests: looked up by request id (which has an index)
 * within a minute of the trace's start, and kept only where the row names this trace.
 */
export async function tracePredictions(engine: StoreEngine, traceId: string, requestIds: string[], startMs: number): Promise<TracePrediction[]> {
  const found: TracePrediction[] = [];
  for (const requestId of new Set(requestIds)) {
    const rows = await listPredictions(engine, { requestId, fromMs: startMs - 60_000, toMs: startMs + 60_000, limit: TRACE_PREDICTIONS });
    for (const r of rows)
      if (r.traceId === traceId) found.push({ requestId: r.requestId, rowIndex: r.rowIndex, model: r.modelName, version: r.modelVersion, status: r.status });
  }
  return found.sort((a, b) => a.requestId.localeCompare(b.requestId) || a.rowIndex - b.rowIndex).slice(0, TRACE_PREDICTIONS);
}

/** One prediction row with everything the log holds about it, and its newest label. */
export async function predictionDetail(engine: StoreEngine, requestId: string, rowIndex: number): Promise<Omit<PredictionDetail, "inputs"> | undefined> {
  const r = await getPrediction(engine, requestId, rowIndex);
  if (!r) return undefined;
  // Labels are looked up under the prediction's model, which only the row names.
  const label = (await newestLabels(engine, [r])).get(labelKey(r.modelName, requestId, rowIndex));
  return {
    timestamp: rfc3339OfMicros(r.timestampUs),
    requestId,
    rowIndex,
    model: r.modelName,
    version: r.modelVersion,
    status: r.status,
    error: r.error,
    latencyMs: r.latencyUs / 1000,
    queueMs: r.queueUs / 1000,
    computeMs: r.computeUs / 1000,
    batchSize: r.batchSize,
    features: r.features,
    prediction: r.prediction,
    scores: r.scores,
    confidence: r.confidence,
    client: r.client,
    traceId: r.traceId,
    label: label?.label ?? null,
    labelledAt: label === undefined ? null : rfc3339OfMicros(label.labelledAtUs),
  };
}

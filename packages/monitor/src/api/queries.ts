import {
  MINUTE_RANGE,
  MODEL_SCOPE,
  type MonitorResult,
  type MonitorResultKind,
  PREDICTIONS_PER_MINUTE,
  type PredictionFilter,
  REFERENCE_PROFILES,
  REQUESTS_PER_MINUTE,
  type StoreEngine,
  getPrediction,
  getShadowPredictions,
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
 * Requests (calls, not prediction rows: a batched request is one request), server-side errors
 * and latency percentiles per step, from the per-minute rollups (two small queries, whatever the
 * traffic): counts from requests_per_minute, percentiles merged from predictions_per_minute's
 * t-digest states. `rows` is the prediction rows, which a batched request has several of.
 */
export async function overviewSeries(engine: StoreEngine, range: SeriesRange, model = "", version = ""): Promise<OverviewPoint[]> {
  const params = rangeParams(range, model, version);
  const [counts, latency] = await Promise.all([
    engine.query<CountRow & { t: number }>(
      `SELECT toUnixTimestamp(toStartOfInterval(minute, toIntervalSecond({step:UInt32}), 'UTC')) AS t, ${COUNT_COLUMNS}
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
    const q = latencyAt.get(Number(r.t));
    return {
      t: new Date(Number(r.t) * 1000).toISOString(),
      ...counted(r),
      p50Ms: q ? q[0]! / 1000 : null,
      p95Ms: q ? q[1]! / 1000 : null,
      p99Ms: q ? q[2]! / 1000 : null,
    };
  });
}

/** Requests, server-side errors and rows, as requests_per_minute sums them (see overviewSeries). */
const COUNT_COLUMNS = `sum(calls) AS request_count, sumIf(calls, status IN {faults:Array(String)}) AS error_count, sum(requests) AS row_count`;
type CountRow = { request_count: string | number; error_count: string | number; row_count: string | number };
const counted = (r: CountRow) => {
  const requests = Number(r.request_count);
  const errors = Number(r.error_count);
  return { requests, errors, errorRate: requests === 0 ? null : errors / requests, rows: Number(r.row_count) };
};

/** The same figures over the whole range, and per model version. */
export async function overviewTotals(engine: StoreEngine, range: SeriesRange, model = "", version = ""): Promise<OverviewTotals> {
  const params = rangeParams(range, model, version);
  const [perModel, [latency]] = await Promise.all([
    engine.query<CountRow & { model: string; version: string }>(
      `SELECT model_name AS model, model_version AS version, ${COUNT_COLUMNS}
       FROM ${REQUESTS_PER_MINUTE} WHERE ${MINUTE_RANGE} AND ${MODEL_SCOPE} GROUP BY model, version ORDER BY model, version`,
      params,
    ),
    engine.query<{ q: number[]; n: string | number }>(
      `SELECT quantilesTDigestMerge(0.5, 0.95, 0.99)(latency_us_quantiles) AS q, count() AS n FROM ${PREDICTIONS_PER_MINUTE} WHERE ${MINUTE_RANGE} AND ${MODEL_SCOPE}`,
      params,
    ),
  ]);
  const models = perModel.map((r) => ({ model: r.model, version: r.version, ...counted(r) }));
  const requests = models.reduce((a, m) => a + m.requests, 0);
  const errors = models.reduce((a, m) => a + m.errors, 0);
  const hasLatency = latency !== undefined && Number(latency.n) > 0;
  return {
    requests,
    errors,
    errorRate: requests === 0 ? null : errors / requests,
    rows: models.reduce((a, m) => a + m.rows, 0),
    p50Ms: hasLatency ? latency.q[0]! / 1000 : null,
    p95Ms: hasLatency ? latency.q[1]! / 1000 : null,
    p99Ms: hasLatency ? latency.q[2]! / 1000 : null,
    models,
  };
}

/** What the store knows of one model version: when it last answered a request successfully, and whether a reference profile is stored. */
export interface VersionActivity {
  model: string;
  version: string;
  /** Start of the newest minute with a successful (OK) request, epoch ms; null when it never served one. */
  lastServedMs: number | null;
  /** Start of the oldest minute with a successful request still in the rollup: when it began serving, as far as the store remembers. */
  firstServedMs: number | null;
  profiled: boolean;
}

/**
 * Every model version with successful traffic or a stored reference profile, from the per-minute
 * rollup (ordered by model and version, so one small pass) and the profiles table.
 */
export async function versionActivity(engine: StoreEngine, model = ""): Promise<VersionActivity[]> {
  const params = { model, version: "" };
  const [served, profiled] = await Promise.all([
    engine.query<{ model: string; version: string; first: number; last: number }>(
      `SELECT model_name AS model, model_version AS version, toUnixTimestamp(min(minute)) AS first, toUnixTimestamp(max(minute)) AS last
       FROM ${REQUESTS_PER_MINUTE} WHERE status = 'OK' AND ${MODEL_SCOPE} GROUP BY model, version`,
      params,
    ),
    engine.query<{ model: string; version: string }>(
      `SELECT DISTINCT model_name AS model, model_version AS version FROM ${REFERENCE_PROFILES} WHERE ${MODEL_SCOPE}`,
      params,
    ),
  ]);
  const key = (m: string, v: string) => `${m}\u0000${v}`;
  const all = new Map<string, VersionActivity>();
  for (const r of served)
    all.set(key(r.model, r.version), {
      model: r.model,
      version: r.version,
      firstServedMs: Number(r.first) * 1000,
      lastServedMs: Number(r.last) * 1000,
      profiled: false,
    });
  for (const r of profiled) {
    const known = all.get(key(r.model, r.version));
    if (known) known.profiled = true;
    else all.set(key(r.model, r.version), { model: r.model, version: r.version, firstServedMs: null, lastServedMs: null, profiled: true });
  }
  return [...all.values()];
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
    role: r.role,
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
  const [r, shadows] = await Promise.all([getPrediction(engine, requestId, rowIndex), getShadowPredictions(engine, requestId, rowIndex)]);
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
    role: r.role,
    shadows: shadows.map((s) => ({
      version: s.modelVersion,
      status: s.status,
      error: s.error,
      prediction: s.prediction,
      confidence: s.confidence,
      scores: s.scores,
      latencyMs: s.latencyUs / 1000,
      computeMs: s.computeUs / 1000,
    })),
  };
}

import { type StoreEngine, isoFromClickHouse } from "@vigil/store";
import { MODEL_SCOPE, SERVER_FAULT_STATUSES } from "../alerting/signals.js";

/** A time range and the width of its points, in milliseconds. */
export interface SeriesRange {
  fromMs: number;
  toMs: number;
  stepMs: number;
}

/** Serving figures over a stretch of time: requests, server-side errors and latency percentiles. */
export interface ServingFigures {
  requests: number;
  errors: number;
  errorRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

export interface OverviewPoint extends ServingFigures {
  t: string;
}

const MINUTES = "minute >= toDateTime({from:UInt32}, 'UTC') AND minute < toDateTime({to:UInt32}, 'UTC')";

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
       FROM requests_per_minute WHERE ${MINUTES} AND ${MODEL_SCOPE} GROUP BY t ORDER BY t`,
      params,
    ),
    engine.query<{ t: number; q: number[] }>(
      `SELECT toUnixTimestamp(toStartOfInterval(minute, toIntervalSecond({step:UInt32}), 'UTC')) AS t,
              quantilesTDigestMerge(0.5, 0.95, 0.99)(latency_us_quantiles) AS q
       FROM predictions_per_minute WHERE ${MINUTES} AND ${MODEL_SCOPE} GROUP BY t ORDER BY t`,
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

export interface OverviewTotals extends ServingFigures {
  models: Array<{ model: string; version: string; requests: number; errors: number }>;
}

/** The same figures over the whole range, and per model version. */
export async function overviewTotals(engine: StoreEngine, range: SeriesRange, model = "", version = ""): Promise<OverviewTotals> {
  const params = rangeParams(range, model, version);
  const [perModel, [latency]] = await Promise.all([
    engine.query<{ model: string; version: string; total: string | number; bad: string | number }>(
      `SELECT model_name AS model, model_version AS version, sum(requests) AS total, sumIf(requests, status IN {faults:Array(String)}) AS bad
       FROM requests_per_minute WHERE ${MINUTES} AND ${MODEL_SCOPE} GROUP BY model, version ORDER BY model, version`,
      params,
    ),
    engine.query<{ q: number[]; n: string | number }>(
      `SELECT quantilesTDigestMerge(0.5, 0.95, 0.99)(latency_us_quantiles) AS q, count() AS n FROM predictions_per_minute WHERE ${MINUTES} AND ${MODEL_SCOPE}`,
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

export interface ResultPoint {
  windowStart: string;
  windowEnd: string;
  metric: string;
  feature: string;
  value: number;
  threshold: number | null;
  breached: boolean;
  details: Record<string, unknown>;
}

/** Stored monitor results of one kind for a model whose windows end in the range, oldest first. */
export async function monitorResults(engine: StoreEngine, kind: "quality" | "drift", model: string, version: string, fromMs: number, toMs: number): Promise<ResultPoint[]> {
  const rows = await engine.query<{ ws: string; we: string; metric: string; feature: string; value: number; threshold: number; breached: number; details: string }>(
    `SELECT toString(window_start) AS ws, toString(window_end) AS we, metric, feature, value, threshold, breached, details
     FROM monitor_results FINAL
     WHERE kind = {kind:String} AND model_name = {model:String} AND ({version:String} = '' OR model_version = {version:String})
       AND window_end > fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND window_end <= fromUnixTimestamp64Milli({to:Int64}, 'UTC')
     ORDER BY window_end, metric, feature
     LIMIT 100000`,
    { kind, model, version, from: Math.floor(fromMs), to: Math.ceil(toMs) },
  );
  return rows.map((r) => ({
    windowStart: isoFromClickHouse(r.ws),
    windowEnd: isoFromClickHouse(r.we),
    metric: r.metric,
    feature: r.feature,
    value: r.value,
    threshold: Number.isFinite(r.threshold) ? r.threshold : null,
    breached: Number(r.breached) === 1,
    details: JSON.parse(r.details) as Record<string, unknown>,
  }));
}

export interface PredictionFilter {
  model?: string;
  version?: string;
  status?: string;
  requestId?: string;
  hasLabel?: boolean;
  fromMs: number;
  toMs: number;
  limit: number;
  /** Keyset cursor: the last row of the previous page. */
  after?: { timestampUs: number; requestId: string; rowIndex: number };
}

export interface PredictionRow {
  timestamp: string;
  timestampUs: number;
  requestId: string;
  rowIndex: number;
  model: string;
  version: string;
  status: string;
  error: string;
  latencyMs: number;
  prediction: string;
  confidence: number;
  label: string | null;
  traceId: string;
}

/**
 * Prediction log search, newest first, a page at a time. Paging is by keyset (timestamp,
 * request id, row) rather than offset, so a page costs the same however deep it is and rows
 * arriving meanwhile do not shift it. The page is read first (the table's sort order serves
 * it); labels are then looked up for its rows alone, so a page does not pay for every label.
 */
export async function searchPredictions(engine: StoreEngine, filter: PredictionFilter): Promise<PredictionRow[]> {
  const rows = await engine.query<{ ts: string; us: string | number; request_id: string; row_index: number; model: string; version: string; status: string; error: string; latency_us: number; prediction: string; confidence: number; trace_id: string }>(
    `SELECT toString(timestamp) AS ts, toUnixTimestamp64Micro(timestamp) AS us, request_id, row_index, model_name AS model, model_version AS version,
            status, error, latency_us, prediction, confidence, trace_id
     FROM predictions
     WHERE timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
       AND ({model:String} = '' OR model_name = {model:String}) AND ({version:String} = '' OR model_version = {version:String})
       AND ({status:String} = '' OR status = {status:String}) AND ({request:String} = '' OR request_id = {request:String})
       AND ({has_label:Int8} = -1 OR ((request_id, row_index) IN (SELECT request_id, row_index FROM labels)) = {has_label:Int8})
       AND ({cursor:UInt8} = 0 OR (toUnixTimestamp64Micro(timestamp), request_id, row_index) < ({after_us:Int64}, {after_request:String}, {after_row:UInt32}))
     ORDER BY timestamp DESC, request_id DESC, row_index DESC
     LIMIT {limit:UInt32}`,
    {
      from: Math.floor(filter.fromMs),
      to: Math.ceil(filter.toMs),
      model: filter.model ?? "",
      version: filter.version ?? "",
      status: filter.status ?? "",
      request: filter.requestId ?? "",
      has_label: filter.hasLabel === undefined ? -1 : filter.hasLabel ? 1 : 0,
      cursor: filter.after ? 1 : 0,
      after_us: filter.after?.timestampUs ?? 0,
      after_request: filter.after?.requestId ?? "",
      after_row: filter.after?.rowIndex ?? 0,
      limit: filter.limit,
    },
  );
  const labels = new Map<string, string>();
  if (rows.length > 0) {
    const found = await engine.query<{ request_id: string; row_index: number; label: string }>(
      `SELECT request_id, row_index, argMax(label, timestamp) AS label FROM labels WHERE request_id IN {ids:Array(String)} GROUP BY request_id, row_index`,
      { ids: [...new Set(rows.map((r) => r.request_id))] },
    );
    for (const l of found) labels.set(`${l.request_id}\u0000${Number(l.row_index)}`, l.label);
  }
  return rows.map((r) => ({
    timestamp: isoFromClickHouse(r.ts),
    timestampUs: Number(r.us),
    requestId: r.request_id,
    rowIndex: Number(r.row_index),
    model: r.model,
    version: r.version,
    status: r.status,
    error: r.error,
    latencyMs: Number(r.latency_us) / 1000,
    prediction: r.prediction,
    confidence: r.confidence,
    label: labels.get(`${r.request_id}\u0000${Number(r.row_index)}`) ?? null,
    traceId: r.trace_id,
  }));
}

export interface PredictionDetail extends PredictionRow {
  features: number[];
  featureNames: string[];
  scores: number[];
  queueMs: number;
  computeMs: number;
  batchSize: number;
  client: string;
  labelledAt: string | null;
}

/** One prediction row with everything the log holds about it, and its newest label. */
export async function predictionDetail(engine: StoreEngine, requestId: string, rowIndex: number): Promise<Omit<PredictionDetail, "featureNames"> | undefined> {
  const [r] = await engine.query<{ ts: string; us: string | number; model: string; version: string; status: string; error: string; latency_us: number; queue_us: number; compute_us: number; batch_size: number; features: number[]; prediction: string; scores: number[]; confidence: number; client: string; trace_id: string; label: string | null; labelled_at: string | null }>(
    `SELECT toString(p.timestamp) AS ts, toUnixTimestamp64Micro(p.timestamp) AS us, p.model_name AS model, p.model_version AS version, p.status AS status, p.error AS error,
            p.latency_us AS latency_us, p.queue_us AS queue_us, p.compute_us AS compute_us, p.batch_size AS batch_size, p.features AS features,
            p.prediction AS prediction, p.scores AS scores, p.confidence AS confidence, p.client AS client, p.trace_id AS trace_id,
            l.label AS label, toString(l.labelled_at) AS labelled_at
     FROM predictions AS p
     LEFT JOIN (
       SELECT request_id, row_index, argMax(label, timestamp) AS label, max(timestamp) AS labelled_at FROM labels
       WHERE request_id = {request:String} GROUP BY request_id, row_index
     ) AS l ON p.request_id = l.request_id AND p.row_index = l.row_index
     WHERE p.request_id = {request:String} AND p.row_index = {row:UInt32}
     LIMIT 1
     SETTINGS join_use_nulls = 1`,
    { request: requestId, row: rowIndex },
  );
  if (!r) return undefined;
  return {
    timestamp: isoFromClickHouse(r.ts),
    timestampUs: Number(r.us),
    requestId,
    rowIndex,
    model: r.model,
    version: r.version,
    status: r.status,
    error: r.error,
    latencyMs: Number(r.latency_us) / 1000,
    queueMs: Number(r.queue_us) / 1000,
    computeMs: Number(r.compute_us) / 1000,
    batchSize: Number(r.batch_size),
    features: r.features,
    prediction: r.prediction,
    scores: r.scores,
    confidence: r.confidence,
    client: r.client,
    traceId: r.trace_id,
    label: r.label,
    labelledAt: r.labelled_at === null ? null : isoFromClickHouse(r.labelled_at),
  };
}


import type { StoreEngine } from "./engine.js";

export interface LabelledPrediction {
  request_id: string;
  row_index: number;
  prediction: string;
  label: string;
}

export interface TimeRange {
  /** Inclusive, microseconds since the epoch. */
  fromUs: number;
  /** Exclusive. */
  toUs: number;
}

/** Predictions of a model joined to their newest label, by request id and row. */
export function labelledPredictions(engine: StoreEngine, model: string, range: TimeRange): Promise<LabelledPrediction[]> {
  return engine.query<LabelledPrediction>(
    `SELECT p.request_id AS request_id, p.row_index AS row_index, p.prediction AS prediction, l.label AS label
     FROM predictions AS p
     INNER JOIN (
       SELECT request_id, row_index, argMax(label, timestamp) AS label FROM labels GROUP BY request_id, row_index
     ) AS l ON p.request_id = l.request_id AND p.row_index = l.row_index
     WHERE p.model_name = {model:String}
       AND p.timestamp >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')
       AND p.timestamp < fromUnixTimestamp64Micro({to:Int64}, 'UTC')
     ORDER BY p.timestamp, p.request_id, p.row_index`,
    { model, from: Math.floor(range.fromUs), to: Math.floor(range.toUs) },
  );
}

export interface PredictionCount {
  status: string;
  rows: number;
}

/** Rows per status for a model (every model when `model` is empty). */
export async function predictionCounts(engine: StoreEngine, model = ""): Promise<PredictionCount[]> {
  const rows = await engine.query<{ status: string; rows: string }>(
    `SELECT status, count() AS rows FROM predictions
     WHERE {model:String} = '' OR model_name = {model:String}
     GROUP BY status ORDER BY status`,
    { model },
  );
  return rows.map((r) => ({ status: r.status, rows: Number(r.rows) }));
}

/** Request ids that appear more than once for the same row: each is a duplicated record. */
export async function duplicatedPredictions(engine: StoreEngine): Promise<number> {
  const [row] = await engine.query<{ duplicates: string }>(
    "SELECT count() AS duplicates FROM (SELECT request_id, row_index FROM predictions GROUP BY request_id, row_index HAVING count() > 1)",
  );
  return Number(row?.duplicates ?? 0);
}

export interface TraceSpan {
  span_id: string;
  parent_span_id: string;
  name: string;
  kind: string;
  start: string;
  duration_ns: number;
  status_code: string;
  status_message: string;
  attributes: Record<string, string>;
  children: TraceSpan[];
}

/** One trace as a tree of spans (roots are spans whose parent is not in the trace), children by start time. */
export async function traceTree(engine: StoreEngine, traceId: string): Promise<TraceSpan[]> {
  const rows = await engine.query<Omit<TraceSpan, "children" | "duration_ns"> & { duration_ns: string | number }>(
    `WITH bounds AS (SELECT min(Start) AS s, max(End) AS e FROM otel_traces_trace_id_ts WHERE TraceId = {trace:String})
     SELECT SpanId AS span_id, ParentSpanId AS parent_span_id, SpanName AS name, SpanKind AS kind,
            toString(Timestamp) AS start, Duration AS duration_ns, StatusCode AS status_code,
            StatusMessage AS status_message, SpanAttributes AS attributes
     FROM otel_traces
     WHERE TraceId = {trace:String}
       AND Timestamp >= (SELECT s FROM bounds) - INTERVAL 1 SECOND
       AND Timestamp <= (SELECT e FROM bounds) + INTERVAL 1 SECOND
     ORDER BY Timestamp, SpanId`,
    { trace: traceId },
  );
  const spans = new Map(rows.map((r) => [r.span_id, { ...r, duration_ns: Number(r.duration_ns), children: [] as TraceSpan[] }]));
  const roots: TraceSpan[] = [];
  for (const span of spans.values()) {
    const parent = spans.get(span.parent_span_id);
    if (parent) parent.children.push(span);
    else roots.push(span);
  }
  return roots;
}

export interface TraceSummary {
  trace_id: string;
  start: string;
  duration_ns: number;
  model: string;
  status: string;
  spans: number;
}

export interface TraceFilter {
  model?: string;
  /** gRPC status name of the root span, e.g. OK or INVALID_ARGUMENT. */
  status?: string;
  minDurationNs?: number;
  limit?: number;
  /** Start times in [fromUs, toUs); the last day when absent. */
  fromUs?: number;
  toUs?: number;
}

/** Recent traces of inference calls, newest first, by model, status and duration. */
export async function recentTraces(engine: StoreEngine, filter: TraceFilter = {}): Promise<TraceSummary[]> {
  const rows = await engine.query<TraceSummary & { duration_ns: string | number; spans: string | number }>(
    `SELECT TraceId AS trace_id, toString(min(Timestamp)) AS start,
            argMin(Duration, Timestamp) AS duration_ns,
            argMinIf(SpanAttributes['vigil.model'], Timestamp, SpanKind = 'Server') AS model,
            argMinIf(SpanAttributes['vigil.grpc_status'], Timestamp, SpanKind = 'Server') AS status,
            count() AS spans
     FROM otel_traces
     WHERE Timestamp >= fromUnixTimestamp64Micro({from:Int64}, 'UTC') AND Timestamp < fromUnixTimestamp64Micro({to:Int64}, 'UTC')
     GROUP BY TraceId
     HAVING ({model:String} = '' OR model = {model:String})
        AND ({status:String} = '' OR status = {status:String})
        AND duration_ns >= {min:UInt64}
     ORDER BY start DESC
     LIMIT {limit:UInt32}`,
    {
      model: filter.model ?? "",
      status: filter.status ?? "",
      min: filter.minDurationNs ?? 0,
      limit: filter.limit ?? 100,
      from: Math.floor(filter.fromUs ?? (Date.now() - 86_400_000) * 1000),
      to: Math.floor(filter.toUs ?? (Date.now() + 60_000) * 1000),
    },
  );
  return rows.map((r) => ({ ...r, duration_ns: Number(r.duration_ns), spans: Number(r.spans) }));
}

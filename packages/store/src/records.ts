/** One predictions row (see migrations/0001_predictions.sql). */
export interface PredictionRecord {
  /** Microseconds since the epoch, when the request arrived. */
  timestampUs: number;
  requestId: string;
  rowIndex: number;
  traceId: string;
  spanId: string;
  modelName: string;
  modelVersion: string;
  /** gRPC status name: OK, INVALID_ARGUMENT, ... */
  status: string;
  error: string;
  latencyUs: number;
  queueUs: number;
  computeUs: number;
  batchSize: number;
  features: number[];
  prediction: string;
  scores: number[];
  confidence: number;
  client: string;
}

export interface LabelRecord {
  requestId: string;
  rowIndex: number;
  modelName: string;
  label: string;
  timestampUs: number;
  source: string;
}

/** ClickHouse's DateTime64(6) text form, in UTC: 2026-11-23 08:30:00.123456 */
export function formatDateTime64(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = String(Math.floor(us % 1_000_000)).padStart(6, "0");
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")}.${micros}`;
}

/** JSON has no NaN or Infinity; ClickHouse parses these spellings of them in float columns. */
const float = (v: number): number | string => (Number.isFinite(v) ? v : Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf");

export function predictionRow(r: PredictionRecord): Record<string, unknown> {
  return {
    timestamp: formatDateTime64(r.timestampUs),
    request_id: r.requestId,
    row_index: r.rowIndex,
    trace_id: r.traceId,
    span_id: r.spanId,
    model_name: r.modelName,
    model_version: r.modelVersion,
    status: r.status,
    error: r.error,
    latency_us: Math.min(0xffffffff, Math.round(r.latencyUs)),
    queue_us: Math.min(0xffffffff, Math.round(r.queueUs)),
    compute_us: Math.min(0xffffffff, Math.round(r.computeUs)),
    batch_size: r.batchSize,
    features: r.features.map(float),
    prediction: r.prediction,
    scores: r.scores.map(float),
    confidence: float(r.confidence),
    client: r.client,
  };
}

export function labelRow(r: LabelRecord): Record<string, unknown> {
  return {
    request_id: r.requestId,
    row_index: r.rowIndex,
    model_name: r.modelName,
    label: r.label,
    timestamp: formatDateTime64(r.timestampUs),
    source: r.source,
  };
}

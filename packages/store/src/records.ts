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

/** "YYYY-MM-DD hh:mm:ss" of an epoch second, remembered for the last second asked: rows arrive in bursts within one. */
let cachedSecond = Number.NaN;
let cachedText = "";
function secondText(second: number): string {
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedText = new Date(second * 1000).toISOString().slice(0, 19).replace("T", " ");
  }
  return cachedText;
}

/** An ISO 8601 time from ClickHouse's text form of a DateTime64 in UTC ("2026-11-23 10:00:00.123"). */
export function isoFromClickHouse(text: string): string {
  return new Date(`${text.replace(" ", "T")}Z`).toISOString();
}

/** ClickHouse's DateTime64(6) text form, in UTC: 2026-11-23 08:30:00.123456 */
export function formatDateTime64(us: number): string {
  const second = Math.floor(us / 1_000_000);
  return `${secondText(second)}.${String(us - second * 1_000_000).padStart(6, "0")}`;
}

/** A float for a JSONEachRow insert: JSON has no NaN or infinities, ClickHouse reads them as these strings. */
export const clickHouseFloat = (v: number): number | string => (Number.isFinite(v) ? v : Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf");

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
    features: r.features.map(clickHouseFloat),
    prediction: r.prediction,
    scores: r.scores.map(clickHouseFloat),
    confidence: clickHouseFloat(r.confidence),
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

/** One span in the OpenTelemetry Collector ClickHouse exporter's `otel_traces` shape. */
export interface SpanRecord {
  /** Span start, nanoseconds since the epoch (as a bigint: DateTime64(9) needs all of them). */
  startNs: bigint;
  durationNs: bigint;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  name: string;
  /** Server, Client, Internal, Producer, Consumer (the exporter's spelling). */
  kind: string;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  scopeName: string;
  scopeVersion: string;
  attributes: Record<string, string>;
  /** Unset, Ok or Error. */
  statusCode: string;
  statusMessage: string;
  events: Array<{ timeNs: bigint; name: string; attributes: Record<string, string> }>;
  links: Array<{ traceId: string; spanId: string; traceState: string; attributes: Record<string, string> }>;
}

/** ClickHouse's DateTime64(9) text form, in UTC. */
export function formatDateTime64Nanos(ns: bigint): string {
  const second = ns / 1_000_000_000n;
  return `${secondText(Number(second))}.${String(ns - second * 1_000_000_000n).padStart(9, "0")}`;
}

export function spanRow(s: SpanRecord): Record<string, unknown> {
  return {
    Timestamp: formatDateTime64Nanos(s.startNs),
    TraceId: s.traceId,
    SpanId: s.spanId,
    ParentSpanId: s.parentSpanId,
    TraceState: s.traceState,
    SpanName: s.name,
    SpanKind: s.kind,
    ServiceName: s.serviceName,
    ResourceAttributes: s.resourceAttributes,
    ScopeName: s.scopeName,
    ScopeVersion: s.scopeVersion,
    SpanAttributes: s.attributes,
    Duration: s.durationNs.toString(),
    StatusCode: s.statusCode,
    StatusMessage: s.statusMessage,
    "Events.Timestamp": s.events.map((e) => formatDateTime64Nanos(e.timeNs)),
    "Events.Name": s.events.map((e) => e.name),
    "Events.Attributes": s.events.map((e) => e.attributes),
    "Links.TraceId": s.links.map((l) => l.traceId),
    "Links.SpanId": s.links.map((l) => l.spanId),
    "Links.TraceState": s.links.map((l) => l.traceState),
    "Links.Attributes": s.links.map((l) => l.attributes),
  };
}

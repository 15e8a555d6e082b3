import { z } from "zod";
import type { StoreEngine } from "../engine.js";
import { countValue, formatDateTime64Nanos, labelMap, queryRows } from "./columns.js";

/** Spans, in the OpenTelemetry Collector ClickHouse exporter's schema (migrations/0002_traces.sql). */
export const SPANS = "otel_traces";
/** Where each trace starts and ends, filled from SPANS by a materialized view. */
export const TRACE_BOUNDS = "otel_traces_trace_id_ts";

/** One span in the exporter's `otel_traces` shape. */
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

export const spanInsertSchema = z.object({
  Timestamp: z.string(),
  TraceId: z.string(),
  SpanId: z.string(),
  ParentSpanId: z.string(),
  TraceState: z.string(),
  SpanName: z.string(),
  SpanKind: z.string(),
  ServiceName: z.string(),
  ResourceAttributes: labelMap,
  ScopeName: z.string(),
  ScopeVersion: z.string(),
  SpanAttributes: labelMap,
  /** UInt64 nanoseconds, as text: a JSON number would lose precision. */
  Duration: z.string(),
  StatusCode: z.string(),
  StatusMessage: z.string(),
  "Events.Timestamp": z.array(z.string()),
  "Events.Name": z.array(z.string()),
  "Events.Attributes": z.array(labelMap),
  "Links.TraceId": z.array(z.string()),
  "Links.SpanId": z.array(z.string()),
  "Links.TraceState": z.array(z.string()),
  "Links.Attributes": z.array(labelMap),
});
export type SpanInsert = z.infer<typeof spanInsertSchema>;

export function spanRow(s: SpanRecord): SpanInsert {
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

const traceSpanReadSchema = z
  .object({
    span_id: z.string(),
    parent_span_id: z.string(),
    name: z.string(),
    kind: z.string(),
    start: z.string(),
    duration_ns: countValue,
    status_code: z.string(),
    status_message: z.string(),
    attributes: labelMap,
  })
  .transform((r): TraceSpan => ({ ...r, children: [] }));

/** One trace as a tree of spans (roots are spans whose parent is not in the trace), children by start time. */
export async function traceTree(engine: StoreEngine, traceId: string): Promise<TraceSpan[]> {
  const rows = await queryRows(
    engine,
    traceSpanReadSchema,
    `WITH bounds AS (SELECT min(Start) AS s, max(End) AS e FROM ${TRACE_BOUNDS} WHERE TraceId = {trace:String})
     SELECT SpanId AS span_id, ParentSpanId AS parent_span_id, SpanName AS name, SpanKind AS kind,
            toString(Timestamp) AS start, Duration AS duration_ns, StatusCode AS status_code,
            StatusMessage AS status_message, SpanAttributes AS attributes
     FROM ${SPANS}
     WHERE TraceId = {trace:String}
       AND Timestamp >= (SELECT s FROM bounds) - INTERVAL 1 SECOND
       AND Timestamp <= (SELECT e FROM bounds) + INTERVAL 1 SECOND
     ORDER BY Timestamp, SpanId`,
    { trace: traceId },
  );
  const spans = new Map(rows.map((r) => [r.span_id, r]));
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

const traceSummaryReadSchema = z.object({
  trace_id: z.string(),
  start: z.string(),
  duration_ns: countValue,
  model: z.string(),
  status: z.string(),
  spans: countValue,
});

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
export function recentTraces(engine: StoreEngine, filter: TraceFilter = {}): Promise<TraceSummary[]> {
  return queryRows(
    engine,
    traceSummaryReadSchema,
    `SELECT TraceId AS trace_id, toString(min(Timestamp)) AS start,
            argMin(Duration, Timestamp) AS duration_ns,
            argMinIf(SpanAttributes['vigil.model'], Timestamp, SpanKind = 'Server') AS model,
            argMinIf(SpanAttributes['vigil.grpc_status'], Timestamp, SpanKind = 'Server') AS status,
            count() AS spans
     FROM ${SPANS}
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
}

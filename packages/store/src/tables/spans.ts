import { z } from "zod";
import type { StoreEngine } from "../engine.js";
import { countValue, formatDateTime64Nanos, labelMap, queryRows, rfc3339OfNanos } from "./columns.js";

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

/** An event recorded on a span, timed from the trace's first span. */
export interface TraceSpanEvent {
  /** RFC 3339, UTC, to the nanosecond. */
  time: string;
  offsetMs: number;
  name: string;
  attributes: Record<string, string>;
}

/** One span of a trace as read back: times in RFC 3339 and milliseconds, children by start time. */
export interface TraceSpan {
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  /** RFC 3339, UTC, to the nanosecond. */
  start: string;
  /** From the trace's first span to this one's start. */
  startOffsetMs: number;
  durationMs: number;
  statusCode: string;
  statusMessage: string;
  attributes: Record<string, string>;
  events: TraceSpanEvent[];
  children: TraceSpan[];
}

const nanos = z.union([z.string(), z.number()]).transform((v) => BigInt(v));
const nanosToMs = (ns: bigint) => Number(ns) / 1e6;

const traceSpanReadSchema = z.object({
  span_id: z.string(),
  parent_span_id: z.string(),
  name: z.string(),
  kind: z.string(),
  start_ns: nanos,
  duration_ns: nanos,
  status_code: z.string(),
  status_message: z.string(),
  attributes: labelMap,
  event_ns: z.array(nanos),
  event_names: z.array(z.string()),
  event_attributes: z.array(labelMap),
});

/**
 * One trace as a tree of spans (roots are spans whose parent is not in the trace), children by
 * start time; empty when the trace is not stored.
 */
export async function traceTree(engine: StoreEngine, traceId: string): Promise<TraceSpan[]> {
  const rows = await queryRows(
    engine,
    traceSpanReadSchema,
    `WITH bounds AS (SELECT min(Start) AS s, max(End) AS e FROM ${TRACE_BOUNDS} WHERE TraceId = {trace:String})
     SELECT SpanId AS span_id, ParentSpanId AS parent_span_id, SpanName AS name, SpanKind AS kind,
            toString(toUnixTimestamp64Nano(Timestamp)) AS start_ns, toString(Duration) AS duration_ns, StatusCode AS status_code,
            StatusMessage AS status_message, SpanAttributes AS attributes,
            arrayMap(t -> toString(toUnixTimestamp64Nano(t)), \`Events.Timestamp\`) AS event_ns, \`Events.Name\` AS event_names,
            \`Events.Attributes\` AS event_attributes
     FROM ${SPANS}
     WHERE TraceId = {trace:String}
       AND Timestamp >= (SELECT s FROM bounds) - INTERVAL 1 SECOND
       AND Timestamp <= (SELECT e FROM bounds) + INTERVAL 1 SECOND
     ORDER BY Timestamp, SpanId`,
    { trace: traceId },
  );
  if (rows.length === 0) return [];
  const traceStartNs = rows[0]!.start_ns;
  const spans = new Map(
    rows.map((r): [string, TraceSpan] => [
      r.span_id,
      {
        spanId: r.span_id,
        parentSpanId: r.parent_span_id,
        name: r.name,
        kind: r.kind,
        start: rfc3339OfNanos(r.start_ns),
        startOffsetMs: nanosToMs(r.start_ns - traceStartNs),
        durationMs: nanosToMs(r.duration_ns),
        statusCode: r.status_code,
        statusMessage: r.status_message,
        attributes: r.attributes,
        events: r.event_ns.map((ns, i) => ({
          time: rfc3339OfNanos(ns),
          offsetMs: nanosToMs(ns - traceStartNs),
          name: r.event_names[i] ?? "",
          attributes: r.event_attributes[i] ?? {},
        })),
        children: [],
      },
    ]),
  );
  const roots: TraceSpan[] = [];
  for (const span of spans.values()) {
    const parent = spans.get(span.parentSpanId);
    if (parent) parent.children.push(span);
    else roots.push(span);
  }
  return roots;
}

/** A trace of an inference call, described by its first server span. */
export interface TraceSummary {
  traceId: string;
  /** RFC 3339, UTC, to the nanosecond. */
  start: string;
  durationMs: number;
  model: string;
  /** gRPC status name of the call. */
  status: string;
  /** The request id the server logged the call's predictions under. */
  requestId: string;
  spans: number;
}

const traceSummaryReadSchema = z.object({
  trace_id: z.string(),
  start_text: nanos,
  duration_text: nanos,
  model: z.string(),
  status: z.string(),
  request_id: z.string(),
  spans: countValue,
});

/** How a trace list is ordered: the newest first, or the slowest first (ties newest first). */
export type TraceOrder = "newest" | "slowest";
const TRACE_ORDER: Record<TraceOrder, string> = {
  newest: "start_ns DESC, trace_id",
  slowest: "duration_ns DESC, start_ns DESC, trace_id",
};

export interface TraceFilter {
  model?: string;
  /** gRPC status name of the call, e.g. OK or INVALID_ARGUMENT; ERROR for every status but OK. */
  status?: string;
  minDurationNs?: number;
  order?: TraceOrder;
  limit?: number;
  /** Start times in [fromUs, toUs); the last day when absent. */
  fromUs?: number;
  toUs?: number;
}

/**
 * Traces of inference calls by model, status and duration, newest or slowest first. Only server
 * spans are grouped and filtered (a fifth of the rows of an inference trace); spans are counted
 * for the traces picked alone.
 */
export function recentTraces(engine: StoreEngine, filter: TraceFilter = {}): Promise<TraceSummary[]> {
  const order = TRACE_ORDER[filter.order ?? "newest"];
  return queryRows(
    engine,
    traceSummaryReadSchema,
    `WITH picked AS (
       SELECT TraceId AS trace_id, toUnixTimestamp64Nano(min(Timestamp)) AS start_ns, argMin(Duration, Timestamp) AS duration_ns,
              argMin(SpanAttributes['vigil.model'], Timestamp) AS model, argMin(SpanAttributes['vigil.grpc_status'], Timestamp) AS status,
              argMin(SpanAttributes['vigil.request_id'], Timestamp) AS request_id
       FROM ${SPANS}
       WHERE SpanKind = 'Server'
         AND Timestamp >= fromUnixTimestamp64Micro({from:Int64}, 'UTC') AND Timestamp < fromUnixTimestamp64Micro({to:Int64}, 'UTC')
       GROUP BY TraceId
       HAVING ({model:String} = '' OR model = {model:String})
          AND ({status:String} = '' OR status = {status:String} OR ({status:String} = 'ERROR' AND status NOT IN ('OK', '')))
          AND duration_ns >= {min:UInt64}
       ORDER BY ${order}
       LIMIT {limit:UInt32}
     ),
     counted AS (
       SELECT TraceId AS trace_id, count() AS spans FROM ${SPANS}
       WHERE TraceId IN (SELECT trace_id FROM picked)
         AND Timestamp >= fromUnixTimestamp64Micro({from:Int64}, 'UTC') - INTERVAL 1 MINUTE
         AND Timestamp < fromUnixTimestamp64Micro({to:Int64}, 'UTC') + INTERVAL 1 MINUTE
       GROUP BY TraceId
     )
     SELECT trace_id, toString(start_ns) AS start_text, toString(duration_ns) AS duration_text, model, status, request_id, spans
     FROM picked LEFT JOIN counted USING (trace_id)
     ORDER BY ${order}`,
    {
      model: filter.model ?? "",
      status: filter.status ?? "",
      min: Math.ceil(filter.minDurationNs ?? 0),
      limit: filter.limit ?? 100,
      from: Math.floor(filter.fromUs ?? (Date.now() - 86_400_000) * 1000),
      to: Math.floor(filter.toUs ?? (Date.now() + 60_000) * 1000),
    },
  ).then((rows) =>
    rows.map((r) => ({
      traceId: r.trace_id,
      start: rfc3339OfNanos(r.start_text),
      durationMs: nanosToMs(r.duration_text),
      model: r.model,
      status: r.status,
      requestId: r.request_id,
      spans: r.spans,
    })),
  );
}

import type { Metadata } from "@grpc/grpc-js";
import {
  type Context,
  type HrTime,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  type TracerProvider,
  context,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator, suppressTracing } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { RecordSink, SpanRecord } from "@vigil/store";
import type { Logger } from "pino";
import { SERVER_VERSION } from "./version.js";

export const SERVICE_NAME = "vigil-inference";

const KIND_NAMES: Record<SpanKind, string> = {
  [SpanKind.INTERNAL]: "Internal",
  [SpanKind.SERVER]: "Server",
  [SpanKind.CLIENT]: "Client",
  [SpanKind.PRODUCER]: "Producer",
  [SpanKind.CONSUMER]: "Consumer",
};
const STATUS_NAMES: Record<SpanStatusCode, string> = { [SpanStatusCode.UNSET]: "Unset", [SpanStatusCode.OK]: "Ok", [SpanStatusCode.ERROR]: "Error" };

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get: (carrier, key) => {
    const values = carrier.get(key).map(String);
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  },
};

const hrToNs = ([s, ns]: HrTime): bigint => BigInt(s) * 1_000_000_000n + BigInt(ns);

/** Wall-clock time of a process.hrtime.bigint() reading, as OpenTelemetry's HrTime. */
const clockOffsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
export function hrTimeOf(monotonicNs: bigint): HrTime {
  const ns = monotonicNs + clockOffsetNs;
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

function stringify(attributes: Record<string, unknown>): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const key in attributes) strings[key] = String(attributes[key]);
  return strings;
}

/** Every span of a provider shares one resource: its attributes are turned into strings once. */
const resourceStrings = new WeakMap<object, Record<string, string>>();
function resourceAttributesOf(span: ReadableSpan): Record<string, string> {
  let strings = resourceStrings.get(span.resource);
  if (!strings) {
    strings = stringify(span.resource.attributes);
    resourceStrings.set(span.resource, strings);
  }
  return strings;
}

function toRecord(span: ReadableSpan): SpanRecord {
  return {
    startNs: hrToNs(span.startTime),
    durationNs: hrToNs(span.duration),
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? "",
    traceState: span.spanContext().traceState?.serialize() ?? "",
    name: span.name,
    kind: KIND_NAMES[span.kind],
    serviceName: String(span.resource.attributes["service.name"] ?? SERVICE_NAME),
    resourceAttributes: resourceAttributesOf(span),
    scopeName: span.instrumentationScope.name,
    scopeVersion: span.instrumentationScope.version ?? "",
    attributes: stringify(span.attributes),
    statusCode: STATUS_NAMES[span.status.code],
    statusMessage: span.status.message ?? "",
    events: span.events.map((e) => ({ timeNs: hrToNs(e.time), name: e.name, attributes: stringify(e.attributes ?? {}) })),
    links: span.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      traceState: l.context.traceState?.serialize() ?? "",
      attributes: stringify(l.attributes ?? {}),
    })),
  };
}

/**
 * Decides per trace, when its local root span ends, whether to keep it: always when any span
 * failed, otherwise as the parent decided (a sampled remote parent keeps it, an unsampled one
 * drops it) or, for a trace that starts here, by trace-id ratio. Head sampling cannot keep
 * errors, since they are known only at the end; so every span is recorded and held briefly.
 */
/** The same rule as OpenTelemetry's TraceIdRatioBased sampler: the id's low bits against the ratio. */
export function keptByRatio(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  return Number.parseInt(traceId.slice(-8), 16) / 0x1_0000_0000 < ratio;
}

export class KeepErrorsProcessor implements SpanProcessor {
  private readonly held = new Map<string, { spans: ReadableSpan[]; since: number }>();

  constructor(
    private ratio: number,
    private readonly sinks: Array<(spans: ReadableSpan[]) => void>,
    private readonly maxHeldTraces = 10_000,
  ) {}

  setSampleRatio(ratio: number): void {
    this.ratio = ratio;
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    const traceId = span.spanContext().traceId;
    let entry = this.held.get(traceId);
    if (!entry) {
      if (this.held.size >= this.maxHeldTraces) this.evictOldest();
      entry = { spans: [], since: Date.now() };
      this.held.set(traceId, entry);
    }
    entry.spans.push(span);
    const parent = span.parentSpanContext;
    if (parent && !parent.isRemote) return;
    this.held.delete(traceId);
    const failed = entry.spans.some((s) => s.status.code === SpanStatusCode.ERROR);
    const wanted = parent ? (parent.traceFlags & 1) === 1 : this.byRatio(traceId);
    if (failed || wanted) for (const sink of this.sinks) sink(entry.spans);
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.held.clear();
  }

  private byRatio(traceId: string): boolean {
    return keptByRatio(traceId, this.ratio);
  }

  private evictOldest(): void {
    const oldest = this.held.keys().next().value;
    if (oldest !== undefined) this.held.delete(oldest);
  }
}

/** Hands kept spans to a store writer at the end of the event-loop turn, after the replies that made them have left. */
export class SpanWriterSink {
  private queued: ReadableSpan[] = [];

  constructor(
    private readonly writer: RecordSink<SpanRecord>,
    private readonly log: Logger,
  ) {}

  readonly accept = (spans: ReadableSpan[]): void => {
    if (this.queued.length === 0) setImmediate(this.flush);
    this.queued.push(...spans);
  };

  /** Writes untraced: a store reached over HTTP would otherwise trace its own inserts of spans, each insert making the next (outgoing calls without a parent are not traced). */
  readonly flush = (): void => {
    const spans = this.queued;
    if (spans.length === 0) return;
    this.queued = [];
    const write = () => {
      for (const span of spans) {
        this.writer
          .append(toRecord(span))
          .catch((error: unknown) => this.log.warn({ err: (error as Error).message }, "span not written: the trace log is full"));
      }
    };
    // Entering a context turns on async context tracking for the whole process: only when there is one to leave.
    if (context.active() === ROOT_CONTEXT) write();
    else context.with(suppressTracing(ROOT_CONTEXT), write);
  };
}

export interface TracingOptions {
  sampleRatio: number;
  /** Where kept spans are written (otel_traces through the no-loss writer). */
  writer?: RecordSink<SpanRecord>;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /**
   * A provider to create the spans with instead of one of the server's own; its owner decides
   * where they go and shuts it down (`writer` and `env` are then not used, and `sampleRatio` only
   * says which successful requests get child spans).
   */
  provider?: TracerProvider;
}

/** The server's tracer: one provider per server, so several servers in a process stay apart. */
export class Tracing {
  readonly tracer: Tracer;
  private readonly provider: BasicTracerProvider | undefined;
  private readonly propagator = new W3CTraceContextPropagator();
  private readonly writerSink: SpanWriterSink | undefined;
  private readonly sampleRatio: number;
  private readonly sampledSpans = new WeakSet<Span>();

  constructor(options: TracingOptions) {
    this.sampleRatio = options.sampleRatio;
    if (options.provider) {
      this.provider = undefined;
      this.tracer = options.provider.getTracer(SERVICE_NAME, SERVER_VERSION);
      return;
    }
    const env = options.env ?? process.env;
    const sinks: Array<(spans: ReadableSpan[]) => void> = [];
    if (options.writer) {
      this.writerSink = new SpanWriterSink(options.writer, options.log);
      sinks.push(this.writerSink.accept);
    }
    const extra: SpanProcessor[] = [];
    if (env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
      const otlp = new BatchSpanProcessor(new OTLPTraceExporter());
      extra.push(otlp);
      sinks.push((spans) => {
        for (const s of spans) otlp.onEnd(s);
      });
      options.log.info({ endpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT }, "also exporting traces over OTLP");
    }
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": SERVICE_NAME, "service.version": SERVER_VERSION }),
      sampler: new AlwaysOnSampler(),
      spanProcessors: [new KeepErrorsProcessor(options.sampleRatio, sinks), ...extra],
    });
    this.tracer = this.provider.getTracer(SERVICE_NAME, SERVER_VERSION);
  }

  /** The caller's trace context from `traceparent`/`tracestate` metadata, or none. */
  extract(metadata: Metadata): Context {
    return this.propagator.extract(ROOT_CONTEXT, metadata, metadataGetter);
  }

  startServerSpan(name: string, parent: Context, startNs: bigint): Span {
    const span = this.tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: hrTimeOf(startNs) }, parent);
    const caller = trace.getSpanContext(parent);
    if (caller?.isRemote ? (caller.traceFlags & 1) === 1 : keptByRatio(span.spanContext().traceId, this.sampleRatio)) this.sampledSpans.add(span);
    return span;
  }

  /**
   * Whether a server span's trace is kept whatever the request's outcome (the caller sampled it,
   * or the ratio keeps it). The others are kept only if something fails, so a request that
   * succeeds in one of them needs no child spans: they would be built only to be dropped.
   */
  sampled(span: Span): boolean {
    return this.sampledSpans.has(span);
  }

  /** A finished child span over a known interval. */
  childSpan(parent: Span, name: string, startNs: bigint, endNs: bigint, attributes: Record<string, string | number> = {}): void {
    const span = this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: hrTimeOf(startNs), attributes }, trace.setSpan(ROOT_CONTEXT, parent));
    span.end(hrTimeOf(endNs));
  }

  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
    this.writerSink?.flush();
  }
}

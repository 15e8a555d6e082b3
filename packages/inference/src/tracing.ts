import type { Metadata } from "@grpc/grpc-js";
import { type Context, type HrTime, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type TextMapGetter, type Tracer, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { BatchedWriter, SpanRecord } from "@vigil/store";
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

function toRecord(span: ReadableSpan): SpanRecord {
  const stringify = (attributes: Record<string, unknown>) => Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v)]));
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
    resourceAttributes: stringify(span.resource.attributes),
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
export class KeepErrorsProcessor implements SpanProcessor {
  private readonly held = new Map<string, { spans: ReadableSpan[]; since: number }>();

  constructor(
    private readonly ratio: number,
    private readonly sinks: Array<(spans: ReadableSpan[]) => void>,
    private readonly maxHeldTraces = 10_000,
  ) {}

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

  /** The same rule as OpenTelemetry's TraceIdRatioBased sampler: the id's low bits against the ratio. */
  private byRatio(traceId: string): boolean {
    if (this.ratio >= 1) return true;
    if (this.ratio <= 0) return false;
    return Number.parseInt(traceId.slice(-8), 16) / 0x1_0000_0000 < this.ratio;
  }

  private evictOldest(): void {
    const oldest = this.held.keys().next().value;
    if (oldest !== undefined) this.held.delete(oldest);
  }
}

export interface TracingOptions {
  sampleRatio: number;
  /** Where kept spans are written (otel_traces through the no-loss writer). */
  writer?: BatchedWriter<SpanRecord>;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

/** The server's tracer: one provider per server, so several servers in a process stay apart. */
export class Tracing {
  readonly tracer: Tracer;
  private readonly provider: BasicTracerProvider;
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(options: TracingOptions) {
    const env = options.env ?? process.env;
    const sinks: Array<(spans: ReadableSpan[]) => void> = [];
    const writer = options.writer;
    if (writer) {
      sinks.push((spans) => {
        for (const span of spans) {
          writer
            .append(toRecord(span))
            .catch((error: unknown) => options.log.warn({ err: (error as Error).message }, "span not written: the trace log is full"));
        }
      });
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
    return this.tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: hrTimeOf(startNs) }, parent);
  }

  /** A finished child span over a known interval. */
  childSpan(parent: Span, name: string, startNs: bigint, endNs: bigint, attributes: Record<string, string | number> = {}): void {
    const span = this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: hrTimeOf(startNs), attributes }, trace.setSpan(ROOT_CONTEXT, parent));
    span.end(hrTimeOf(endNs));
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

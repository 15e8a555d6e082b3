/**
 * The OpenTelemetry SDK of a process started by the `vigil` command (serve, monitor, up). It is
 * started by a preload (`node --import`), before grpc-js, http, Fastify and pino are loaded, so
 * their instrumentations can patch them. Nothing here may import grpc-js or the server.
 */
import { register } from "node:module";
import { FastifyOtelInstrumentation } from "@fastify/otel";
import { type Attributes, type Context, type Link, type SpanKind, type TracerProvider, diag, trace } from "@opentelemetry/api";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { GrpcInstrumentation } from "@opentelemetry/instrumentation-grpc";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { PinoInstrumentation } from "@opentelemetry/instrumentation-pino";
import { type ResourceDetector, envDetector, hostDetector, processDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { type MetricReader, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { NodeSDK } from "@opentelemetry/sdk-node";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  SimpleSpanProcessor,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import type { RecordSink, SpanRecord } from "@vigil/store";
import type { Logger } from "pino";
import { KeepErrorsProcessor, SpanWriterSink } from "./tracing.js";
import { SERVER_VERSION } from "./version.js";

/** Modules imported from ESM that an instrumentation patches on load (http needs none: it is patched where it is required). */
const ESM_INSTRUMENTED = ["@grpc/grpc-js", "pino"];

/** How long shutdown waits for the last exports before it gives up on them. */
const SHUTDOWN_BOUND_MS = 3000;

const listFromEnv = (value: string | undefined): string[] =>
  (value ?? "")
    .split(",")
    .map((part) => part.trim().toLowerCase())
    .filter(Boolean);

/** OTEL_TRACES_SAMPLER(_ARG) as the specification defines them; undefined when unset. */
export function samplerFromEnv(env: NodeJS.ProcessEnv): Sampler | undefined {
  const name = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase();
  if (!name) return undefined;
  const parsed = Number(env.OTEL_TRACES_SAMPLER_ARG);
  const ratio = env.OTEL_TRACES_SAMPLER_ARG !== undefined && Number.isFinite(parsed) && parsed >= 0 && parsed <= 1 ? parsed : 1;
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      throw new Error(
        `OTEL_TRACES_SAMPLER="${env.OTEL_TRACES_SAMPLER}" is not supported; use always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio`,
      );
  }
}

/**
 * Records every span while tracing is on (keep-errors decides at the end of the trace), or defers
 * to OTEL_TRACES_SAMPLER when that is set; records nothing while tracing is off, so the
 * instrumentations then make only non-recording spans.
 */
class SwitchableSampler implements Sampler {
  enabled = true;
  private readonly always = new AlwaysOnSampler();

  constructor(private readonly fromEnv: Sampler | undefined) {}

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    if (!this.enabled) return { decision: SamplingDecision.NOT_RECORD };
    return (this.fromEnv ?? this.always).shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `VigilSampler{${this.enabled ? (this.fromEnv?.toString() ?? "keep-errors") : "off"}}`;
  }
}

/** Span exporters named by OTEL_TRACES_EXPORTER; OTLP also when only an OTLP endpoint is set, as before the SDK. */
function exportProcessors(env: NodeJS.ProcessEnv): SpanProcessor[] {
  const named = listFromEnv(env.OTEL_TRACES_EXPORTER);
  const endpointSet = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const wanted = named.length > 0 ? named : endpointSet ? ["otlp"] : [];
  const processors: SpanProcessor[] = [];
  for (const exporter of new Set(wanted)) {
    if (exporter === "otlp") processors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
    else if (exporter === "console") processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
    else if (exporter !== "none")
      throw new Error(`OTEL_TRACES_EXPORTER="${env.OTEL_TRACES_EXPORTER}": "${exporter}" is not supported; use otlp, console or none`);
  }
  return processors;
}

/** OTLP metrics only when asked for (OTEL_METRICS_EXPORTER=otlp or a metrics endpoint): the SDK's own default would post to 127.0.0.1:4318. */
function metricReaders(env: NodeJS.ProcessEnv): MetricReader[] {
  const named = listFromEnv(env.OTEL_METRICS_EXPORTER);
  const wanted = named.includes("otlp") || (named.length === 0 && Boolean(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT));
  if (!wanted) return [];
  const millis = (value: string | undefined, fallback: number) => (Number(value) > 0 ? Number(value) : fallback);
  const exportIntervalMillis = millis(env.OTEL_METRIC_EXPORT_INTERVAL, 60_000);
  return [
    new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter(),
      exportIntervalMillis,
      exportTimeoutMillis: Math.min(millis(env.OTEL_METRIC_EXPORT_TIMEOUT, 30_000), exportIntervalMillis),
    }),
  ];
}

/** What a process's components use of the SDK: its tracer provider, where kept spans are stored, the sampling settings. */
export interface ProcessTelemetry {
  readonly serviceName: string;
  readonly tracerProvider: TracerProvider;
  /** Whether OTEL_TRACES_SAMPLER decides instead of Vigil's `tracing.sample_ratio`. */
  readonly samplerFromEnv: boolean;
  /** Whether kept spans also go to an exporter (OTEL_TRACES_EXPORTER, or an OTLP endpoint). */
  readonly exportsSpans: boolean;
  /** Applies Vigil's `tracing` settings: off makes every span non-recording. */
  configure(tracing: { enabled: boolean; sample_ratio: number }): void;
  /** Stores kept spans through `writer` (otel_traces) until the returned function detaches it. */
  addSpanWriter(writer: RecordSink<SpanRecord>, log: Logger): () => void;
  /** gRPC methods the grpc instrumentation leaves alone, because Vigil traces them itself. */
  untracedGrpcMethods: Set<string>;
  /** Flushes and stops the SDK; never rejects, and gives up after a bound when an exporter cannot be reached. */
  shutdown(): Promise<void>;
}

const GLOBAL_KEY = Symbol.for("vigil.process-telemetry");
type WithTelemetry = typeof globalThis & { [GLOBAL_KEY]?: ProcessTelemetry };

/** The SDK the `vigil` command started in this process, if any. */
export function processTelemetry(): ProcessTelemetry | undefined {
  return (globalThis as WithTelemetry)[GLOBAL_KEY];
}

/**
 * The process detector's attributes that identify the process. Its command line, paths and owner
 * are left out: every stored span row carries the whole resource, and at a ratio of 1 those made
 * about a quarter of the serving CPU per request (OTEL_NODE_RESOURCE_DETECTORS brings them back).
 */
const PROCESS_IDENTITY = ["process.pid", "process.runtime.name", "process.runtime.version", "process.executable.name"];
const processIdentityDetector: ResourceDetector = {
  detect: (config) => {
    const attributes = processDetector.detect(config).attributes ?? {};
    return { attributes: Object.fromEntries(PROCESS_IDENTITY.filter((key) => key in attributes).map((key) => [key, attributes[key]])) };
  },
};

/** Incoming requests not worth a span: Prometheus scrapes. */
const isMetricsScrape = (url: string | undefined) => url?.split("?")[0] === "/metrics";

/**
 * Starts the NodeSDK for this process; `serviceName` is the default that OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES override. Idempotent: a second call returns the first SDK.
 */
export function startProcessTelemetry(serviceName: string, env: NodeJS.ProcessEnv = process.env): ProcessTelemetry {
  const existing = processTelemetry();
  if (existing) return existing;
  // The CLI is ESM: the CommonJS modules it imports (grpc-js, pino) reach the instrumentations only
  // through this loader hook. Limited to them, since every module it intercepts is wrapped.
  register("@opentelemetry/instrumentation/hook.mjs", import.meta.url, { data: { include: ESM_INSTRUMENTED } });
  const fromEnv = samplerFromEnv(env);
  const sampler = new SwitchableSampler(fromEnv);
  const sinks: Array<(spans: ReadableSpan[]) => void> = [];
  // With OTEL_TRACES_SAMPLER the head decision already thinned the traces: keep what it recorded.
  const keepErrors = new KeepErrorsProcessor(1, sinks);
  // Exporters receive only the traces keep-errors keeps, as the store does.
  const exporters = exportProcessors(env);
  for (const exporter of exporters)
    sinks.push((spans) => {
      for (const span of spans) exporter.onEnd(span);
    });
  const untracedGrpcMethods = new Set<string>();
  const sdk = new NodeSDK({
    // Detected attributes are merged over these, OTEL_RESOURCE_ATTRIBUTES last so that it wins.
    resource: resourceFromAttributes({ "service.name": serviceName, "service.version": SERVER_VERSION }),
    resourceDetectors: env.OTEL_NODE_RESOURCE_DETECTORS ? undefined : [hostDetector, processIdentityDetector, envDetector],
    sampler,
    spanProcessors: [keepErrors],
    metricReaders: metricReaders(env),
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        // Background work (writer flushes, monitor runs, webhooks) makes no root spans; calls made while serving a request are its children.
        requireParentforOutgoingSpans: true,
        ignoreIncomingRequestHook: (request) => isMetricsScrape(request.url),
      }),
      new GrpcInstrumentation({ ignoreGrpcMethods: [(method) => untracedGrpcMethods.has(method)] }),
      new FastifyOtelInstrumentation({ registerOnInitialization: true }),
      // Correlation only: log lines stay on stdout, not sent through the OpenTelemetry logs SDK.
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  const tracerProvider = trace.getTracerProvider();
  let stopping: Promise<void> | undefined;
  const telemetry: ProcessTelemetry = {
    serviceName,
    tracerProvider,
    samplerFromEnv: fromEnv !== undefined,
    exportsSpans: exporters.length > 0,
    untracedGrpcMethods,
    configure(tracing) {
      sampler.enabled = tracing.enabled;
      if (!fromEnv) keepErrors.setSampleRatio(tracing.sample_ratio);
    },
    addSpanWriter(writer, log) {
      const sink = new SpanWriterSink(writer, log);
      sinks.push(sink.accept);
      return () => {
        const index = sinks.indexOf(sink.accept);
        if (index >= 0) sinks.splice(index, 1);
        sink.flush();
      };
    },
    shutdown() {
      stopping ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, SHUTDOWN_BOUND_MS);
          timer.unref();
        });
        const stopped = Promise.all([sdk.shutdown(), ...exporters.map((exporter) => exporter.shutdown())]).catch((error: unknown) =>
          diag.warn(`OpenTelemetry SDK shutdown: ${(error as Error).message}`),
        );
        await Promise.race([stopped, bound]);
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
  (globalThis as WithTelemetry)[GLOBAL_KEY] = telemetry;
  return telemetry;
}

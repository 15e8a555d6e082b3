import { readFileSync } from "node:fs";
import { type Server as HttpServer, createServer } from "node:http";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { TracerProvider } from "@opentelemetry/api";
import { FeedbackService, GRPCInferenceServiceService, HealthService } from "@vigil/proto";
import { Store, modelsOfRequests } from "@vigil/store";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { BearerAuth } from "./auth.js";
import type { ServerConfig } from "./server-config.js";
import { pathRedactor } from "./errors.js";
import { listenForConnections } from "./connections.js";
import { createFeedbackHandlers } from "./feedback.js";
import { createHealthHandlers } from "./health.js";
import { createLogger } from "./logger.js";
import { ServerMetrics } from "./metrics.js";
import { PredictionRecorder } from "./recorder.js";
import { processTelemetry } from "./otel-sdk.js";
import { Tracing } from "./tracing.js";
import { ModelRepository } from "./repository.js";
import { RepositoryPoller } from "./repository-poll.js";
import { addReflection } from "./reflection.js";
import { RolloutRouter } from "./rollout-serving.js";
import { RolloutWatch, logRolloutWithoutStore } from "./rollout-watch.js";
import { ServerState } from "./server-state.js";
import { createInferenceHandlers } from "./service.js";
import type { RemoteLog, WorkerHooks } from "./workers/hooks.js";

export interface InferenceServer {
  /** host:port the server listens on. */
  readonly address: string;
  readonly port: number;
  /** Port of the Prometheus /metrics endpoint, when it is on. */
  readonly metricsPort: number | undefined;
  /** The registry /metrics serves, for other components of the process to add their metrics to. */
  readonly metricsRegistry: Registry | undefined;
  readonly repository: ModelRepository;
  /** The prediction log, when recording is on. */
  readonly store: Store | undefined;
  /** Routes requests by the models' rollout policies; a pool's worker is told the rolled-back policies through it. */
  readonly rollouts: RolloutRouter;
  /** Stops accepting calls, finishes queued and running work, then closes; idempotent. */
  shutdown(): Promise<void>;
}

function credentials(config: ServerConfig): ServerCredentials {
  if (!config.tls) return ServerCredentials.createInsecure();
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`cannot read TLS ${what} ${path}: ${(error as Error).message}`);
    }
  };
  return ServerCredentials.createSsl(null, [{ cert_chain: read(config.tls.cert_file, "certificate"), private_key: read(config.tls.key_file, "key") }], false);
}

export interface ServerDependencies {
  log?: Logger;
  /**
   * A store shared with other components of the process (the embedded engine allows one data
   * directory per process); the server then leaves closing it to the owner.
   */
  store?: Store;
  /** Set when this server is one worker of `vigil serve --workers N` (workers/worker.ts). */
  worker?: WorkerHooks;
  /**
   * Creates the server's spans; whoever passes it decides where they go. Default: the SDK the
   * `vigil` command started (spans stored through the server's writer), else a provider of the
   * server's own, so that several servers in one process keep their settings apart.
   */
  tracerProvider?: TracerProvider;
}

/** Method names the grpc instrumentation must leave alone: Vigil traces the inference RPCs itself, and health probes would flood the trace log. */
const selfTracedMethods = (): string[] =>
  [GRPCInferenceServiceService, HealthService].flatMap((service) => Object.values(service).map((method) => method.path.split("/").pop() ?? ""));

/** Opens the prediction log described by the config. */
export function openStoreFor(config: ServerConfig, log: Logger): Promise<Store> {
  return Store.open({
    clickhouseUrl: config.clickhouse_url,
    cluster: config.clickhouse_cluster,
    dataDir: config.data_dir,
    spoolDir: config.spool_dir,
    retention: { predictionsDays: config.retention_days.predictions, tracesDays: config.retention_days.traces },
    writer: { spoolBudgetBytes: config.spool_budget_bytes },
    log,
  });
}

/** Serves GET /metrics from `source` (a registry, or the sum over a worker pool's registries). */
export function serveMetrics(source: Pick<Registry, "metrics" | "contentType">, host: string, port: number): Promise<HttpServer> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found: metrics are at GET /metrics\n");
      return;
    }
    source.metrics().then(
      (body) => res.writeHead(200, { "Content-Type": source.contentType }).end(body),
      (error: unknown) => res.writeHead(500, { "Content-Type": "text/plain" }).end(`metrics collection failed: ${(error as Error).message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", (error) => reject(new Error(`cannot serve metrics on ${host}:${port}: ${error.message}`)));
    server.listen(port, host, () => resolve(server));
  });
}

/**
 * Binds the gRPC port first, so liveness answers and requests to loading models get UNAVAILABLE,
 * then loads every model in the repository and resolves once that is done.
 */
export async function startInferenceServer(config: ServerConfig, dependencies: ServerDependencies = {}): Promise<InferenceServer> {
  const log = dependencies.log ?? createLogger(config.log_level);
  const remoteLog = config.record_predictions ? dependencies.worker?.remoteLog : undefined;
  const ownsStore = config.record_predictions && !dependencies.store && !remoteLog;
  const store = config.record_predictions && !remoteLog ? (dependencies.store ?? (await openStoreFor(config, log))) : undefined;
  if (store) log.info({ store: store.engine.location, spool: config.spool_dir }, "recording every request in the prediction log");
  const records: RemoteLog | undefined =
    remoteLog ??
    (store && { predictions: store.predictions, labels: store.labels, spans: store.spans, modelsOf: (ids) => modelsOfRequests(store.engine, ids) });
  let metrics: ServerMetrics | undefined;
  const repository = new ModelRepository(
    config.model_repository,
    log,
    (version, rows) => metrics?.observeExecution(version.name, String(version.version), rows),
    config.model_control_mode,
  );
  if (config.metrics_port !== null) metrics = new ServerMetrics(repository, store);
  const telemetry = dependencies.tracerProvider ? undefined : processTelemetry();
  if (telemetry) {
    telemetry.configure(config.tracing);
    for (const method of selfTracedMethods()) telemetry.untracedGrpcMethods.add(method);
  }
  const provider = dependencies.tracerProvider ?? telemetry?.tracerProvider;
  const otlp = Boolean(process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  // Spans go to otel_traces through the store, over OTLP, or to the given provider; with none, nothing would keep them.
  const tracing =
    config.tracing.enabled && (records || otlp || dependencies.tracerProvider || telemetry?.exportsSpans)
      ? new Tracing({ sampleRatio: config.tracing.sample_ratio, writer: records?.spans, log, provider })
      : undefined;
  const detachSpanWriter = config.tracing.enabled && records && telemetry ? telemetry.addSpanWriter(records.spans, log) : undefined;
  const state = new ServerState();
  const server = new Server({
    "grpc.max_receive_message_length": config.max_message_bytes,
    "grpc.max_send_message_length": config.max_message_bytes,
    "grpc.max_connection_idle_ms": config.max_connection_idle_ms,
    "grpc.keepalive_time_ms": config.keepalive_time_ms,
    "grpc.keepalive_timeout_ms": config.keepalive_timeout_ms,
  });
  const auth = new BearerAuth(config.auth_tokens);
  const recorder = records ? new PredictionRecorder(records.predictions, config.record_wait_ms) : undefined;
  const redact = pathRedactor(config.model_repository);
  const rollouts = new RolloutRouter(repository, log, recorder, metrics);
  // The process that owns the store writes the rollout events and reads the rollbacks; a pool's worker reports to its primary.
  const watch =
    store && !dependencies.worker ? new RolloutWatch(store.engine, config.rollout_poll_secs * 1000, log, (ids) => rollouts.setRolledBack(ids)) : undefined;
  const reportRollout = dependencies.worker?.rolloutStarted;
  repository.on("rollout", (rollout) => {
    if (watch) void watch.started(rollout);
    else if (reportRollout)
      void reportRollout(rollout).catch((error: unknown) => log.error({ model: rollout.model, err: error }, "rollout start not reported to the primary"));
    else logRolloutWithoutStore(log, rollout);
  });
  server.addService(
    GRPCInferenceServiceService,
    createInferenceHandlers({
      repository,
      rollouts,
      auth,
      state,
      log,
      recorder,
      tracing,
      metrics,
      redact,
      statistics: dependencies.worker?.statistics,
      control: dependencies.worker?.control,
    }),
  );
  server.addService(HealthService, createHealthHandlers(repository, state, auth));
  addReflection(server);
  server.addService(
    FeedbackService,
    createFeedbackHandlers({
      repository,
      auth,
      labels: records?.labels,
      modelsOf: records?.modelsOf,
      metrics,
      log,
      redact,
      waitMs: config.record_wait_ms,
    }),
  );

  const target = `${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`;
  const listener = await listenForConnections(server.createConnectionInjector(credentials(config)), config.host, config.port, {
    handshakeTimeoutMs: config.handshake_timeout_ms,
    maxConnections: config.max_connections,
    tls: Boolean(config.tls),
  }).catch((error: Error) => {
    throw new Error(`cannot listen on ${target}: ${error.message}`);
  });
  const port = listener.port;
  const address = `${config.host}:${port}`;
  // A worker's metrics are summed by the primary, which serves the one /metrics.
  const metricsServer = metrics && !dependencies.worker ? await serveMetrics(metrics.registry, config.host, config.metrics_port!) : undefined;
  const metricsPort = metricsServer ? (metricsServer.address() as { port: number }).port : undefined;
  if (metricsPort !== undefined) log.info({ url: `http://${config.host}:${metricsPort}/metrics` }, "Prometheus metrics endpoint listening");
  log.info({ address, tls: Boolean(config.tls), auth: auth.enabled, repository: config.model_repository }, "gRPC server listening");
  await repository.loadAll();
  const poller = config.model_control_mode === "poll" ? new RepositoryPoller(repository, config.repository_poll_secs * 1000, log) : undefined;
  await poller?.start();
  watch?.start();

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      log.info({ address }, "shutting down: refusing new calls, draining queued and running requests");
      state.startDraining();
      listener.close();
      const closed = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      state.closeStreams();
      await poller?.stop();
      await watch?.stop();
      await repository.close();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), config.shutdown_grace_ms);
      });
      if (await Promise.race([closed.then(() => false), timedOut])) {
        log.warn({ graceMs: config.shutdown_grace_ms }, "grace period over; cutting remaining connections");
        server.forceShutdown();
      }
      clearTimeout(timer);
      await new Promise((resolve) => (metricsServer ? metricsServer.close(resolve) : resolve(undefined)));
      await tracing?.shutdown();
      detachSpanWriter?.();
      if (ownsStore) await store?.close();
      log.info("server stopped");
    })();
    return stopping;
  };
  return { address, port, metricsPort, metricsRegistry: metrics?.registry, repository, store, rollouts, shutdown };
}

import { readFileSync } from "node:fs";
import { type Server as HttpServer, createServer } from "node:http";
import { Server, ServerCredentials } from "@grpc/grpc-js";
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
import { Tracing } from "./tracing.js";
import { ModelRepository } from "./repository.js";
import { ServerState } from "./server-state.js";
import { createInferenceHandlers } from "./service.js";

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
}

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

function serveMetrics(metrics: ServerMetrics, host: string, port: number): Promise<HttpServer> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found: metrics are at GET /metrics\n");
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { "Content-Type": metrics.registry.contentType }).end(body),
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
  const ownsStore = config.record_predictions && !dependencies.store;
  const store = config.record_predictions ? (dependencies.store ?? (await openStoreFor(config, log))) : undefined;
  if (store) log.info({ store: store.engine.location, spool: config.spool_dir }, "recording every request in the prediction log");
  let metrics: ServerMetrics | undefined;
  const repository = new ModelRepository(config.model_repository, log, (version, rows) =>
    metrics?.observeExecution(version.name, String(version.version), rows),
  );
  if (config.metrics_port !== null) metrics = new ServerMetrics(repository, store);
  const otlp = Boolean(process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  // Spans go to otel_traces through the store, or over OTLP; with neither, nothing would keep them.
  const tracing = config.tracing.enabled && (store || otlp) ? new Tracing({ sampleRatio: config.tracing.sample_ratio, writer: store?.spans, log }) : undefined;
  const state = new ServerState();
  const server = new Server({
    "grpc.max_receive_message_length": config.max_message_bytes,
    "grpc.max_send_message_length": config.max_message_bytes,
    "grpc.max_connection_idle_ms": config.max_connection_idle_ms,
    "grpc.keepalive_time_ms": config.keepalive_time_ms,
    "grpc.keepalive_timeout_ms": config.keepalive_timeout_ms,
  });
  const auth = new BearerAuth(config.auth_tokens);
  const recorder = store ? new PredictionRecorder(store.predictions, config.record_wait_ms) : undefined;
  const redact = pathRedactor(config.model_repository);
  server.addService(GRPCInferenceServiceService, createInferenceHandlers({ repository, auth, state, log, recorder, tracing, metrics, redact }));
  server.addService(HealthService, createHealthHandlers(repository, state, auth));
  server.addService(
    FeedbackService,
    createFeedbackHandlers({
      repository,
      auth,
      labels: store?.labels,
      modelsOf: store && ((ids) => modelsOfRequests(store.engine, ids)),
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
  const metricsServer = metrics ? await serveMetrics(metrics, config.host, config.metrics_port!) : undefined;
  const metricsPort = metricsServer ? (metricsServer.address() as { port: number }).port : undefined;
  if (metricsPort !== undefined) log.info({ url: `http://${config.host}:${metricsPort}/metrics` }, "Prometheus metrics endpoint listening");
  log.info({ address, tls: Boolean(config.tls), auth: auth.enabled, repository: config.model_repository }, "gRPC server listening");
  await repository.loadAll();

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      log.info({ address }, "shutting down: refusing new calls, draining queued and running requests");
      state.startDraining();
      listener.close();
      const closed = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      state.closeStreams();
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
      if (ownsStore) await store?.close();
      log.info("server stopped");
    })();
    return stopping;
  };
  return { address, port, metricsPort, metricsRegistry: metrics?.registry, repository, store, shutdown };
}

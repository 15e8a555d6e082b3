import { readFileSync } from "node:fs";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { FeedbackService, GRPCInferenceServiceService, HealthService } from "@vigil/proto";
import { Store } from "@vigil/store";
import type { Logger } from "pino";
import { BearerAuth } from "./auth.js";
import type { ServerConfig } from "./config.js";
import { createFeedbackHandlers } from "./feedback.js";
import { createHealthHandlers } from "./health.js";
import { createLogger } from "./logger.js";
import { PredictionRecorder } from "./recorder.js";
import { ModelRepository } from "./repository.js";
import { ServerState } from "./server-state.js";
import { createInferenceHandlers } from "./service.js";

export interface InferenceServer {
  /** host:port the server listens on. */
  readonly address: string;
  readonly port: number;
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
    dataDir: config.data_dir,
    spoolDir: config.spool_dir,
    retention: { predictionsDays: config.retention_days.predictions, tracesDays: config.retention_days.traces },
    writer: { spoolBudgetBytes: config.spool_budget_bytes },
    log,
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
  const repository = new ModelRepository(config.model_repository, log);
  const state = new ServerState();
  const server = new Server({
    "grpc.max_receive_message_length": config.max_message_bytes,
    "grpc.max_send_message_length": config.max_message_bytes,
  });
  const auth = new BearerAuth(config.auth_tokens);
  const recorder = store ? new PredictionRecorder(store.predictions, config.record_wait_ms) : undefined;
  server.addService(GRPCInferenceServiceService, createInferenceHandlers({ repository, auth, state, log, recorder }));
  server.addService(HealthService, createHealthHandlers(repository, state));
  server.addService(FeedbackService, createFeedbackHandlers({ repository, auth, labels: store?.labels, waitMs: config.record_wait_ms }));

  const target = `${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(target, credentials(config), (error, bound) =>
      error ? reject(new Error(`cannot listen on ${target}: ${error.message}`)) : resolve(bound),
    ),
  );
  const address = `${config.host}:${port}`;
  log.info({ address, tls: Boolean(config.tls), auth: auth.enabled, repository: config.model_repository }, "gRPC server listening");
  await repository.loadAll();

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      log.info({ address }, "shutting down: refusing new calls, draining queued and running requests");
      state.startDraining();
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
      if (ownsStore) await store?.close();
      log.info("server stopped");
    })();
    return stopping;
  };
  return { address, port, repository, store, shutdown };
}

import { readFileSync } from "node:fs";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { GRPCInferenceServiceService, HealthService } from "@vigil/proto";
import type { Logger } from "pino";
import { BearerAuth } from "./auth.js";
import type { ServerConfig } from "./config.js";
import { createHealthHandlers } from "./health.js";
import { createLogger } from "./logger.js";
import { ModelRepository } from "./repository.js";
import { ServerState } from "./server-state.js";
import { createInferenceHandlers } from "./service.js";

export interface InferenceServer {
  /** host:port the server listens on. */
  readonly address: string;
  readonly port: number;
  readonly repository: ModelRepository;
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

/**
 * Binds the gRPC port first, so liveness answers and requests to loading models get UNAVAILABLE,
 * then loads every model in the repository and resolves once that is done.
 */
export async function startInferenceServer(config: ServerConfig, log: Logger = createLogger(config.log_level)): Promise<InferenceServer> {
  const repository = new ModelRepository(config.model_repository, log);
  const state = new ServerState();
  const server = new Server({
    "grpc.max_receive_message_length": config.max_message_bytes,
    "grpc.max_send_message_length": config.max_message_bytes,
  });
  const ctx = { repository, auth: new BearerAuth(config.auth_tokens), state, log };
  server.addService(GRPCInferenceServiceService, createInferenceHandlers(ctx));
  server.addService(HealthService, createHealthHandlers(repository, state));

  const target = `${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(target, credentials(config), (error, bound) =>
      error ? reject(new Error(`cannot listen on ${target}: ${error.message}`)) : resolve(bound),
    ),
  );
  const address = `${config.host}:${port}`;
  log.info({ address, tls: Boolean(config.tls), auth: ctx.auth.enabled, repository: config.model_repository }, "gRPC server listening");
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
      log.info("server stopped");
    })();
    return stopping;
  };
  return { address, port, repository, shutdown };
}

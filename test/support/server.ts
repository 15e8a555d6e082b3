import { after, before } from "node:test";
import { type InferenceServer, type ServerConfigInput, createLogger, loadServerConfig, startInferenceServer } from "@vigil/inference";
import type { GRPCInferenceServiceClient, HealthClient } from "@vigil/proto";
import type { Store } from "@vigil/store";
import { healthClient, inferenceClient } from "./grpc.js";
import { tempRepository } from "./models.js";
import { jsonLineSink } from "./vigil.js";

export interface TestServer {
  server: InferenceServer;
  address: string;
  client: GRPCInferenceServiceClient;
  health: HealthClient;
  /** JSON log lines the server wrote, for assertions on what it reported. */
  logs: Array<Record<string, unknown>>;
  stop: () => Promise<void>;
}

/**
 * Starts a real gRPC server on 127.0.0.1 with a free port; environment variables are ignored.
 * Recording is off unless the test turns it on (or passes a store), so suites that are not
 * about the prediction log do not share one.
 */
export async function startTestServer(overrides: ServerConfigInput, store?: Store): Promise<TestServer> {
  const config = loadServerConfig({
    env: {},
    overrides: {
      host: "127.0.0.1",
      port: 0,
      log_level: "debug",
      shutdown_grace_ms: 5000,
      record_predictions: store !== undefined,
      metrics_port: 0,
      ...overrides,
    },
  });
  const logs: Array<Record<string, unknown>> = [];
  const server = await startInferenceServer(config, { log: createLogger(config.log_level, jsonLineSink(logs)), store });
  const address = `127.0.0.1:${server.port}`;
  const client = inferenceClient(address);
  const health = healthClient(address);
  return {
    server,
    address,
    client,
    health,
    logs,
    stop: async () => {
      client.close();
      health.close();
      await server.shutdown();
    },
  };
}

export interface ServedRepository {
  /** The running server; set once the suite's before hook has run. */
  readonly server: TestServer;
  /** The temporary model repository it serves. */
  readonly repository: string;
}

/**
 * Registers before/after hooks in the current suite: a temporary repository filled by
 * `populate`, a server over it, and their removal afterwards.
 */
export function serveRepository(populate: (repository: string) => Promise<void>, overrides: ServerConfigInput = {}): ServedRepository {
  let server: TestServer | undefined;
  let repository: Awaited<ReturnType<typeof tempRepository>> | undefined;
  before(async () => {
    repository = await tempRepository();
    await populate(repository.path);
    server = await startTestServer({ model_repository: repository.path, ...overrides });
  });
  after(async () => {
    await server?.stop();
    await repository?.remove();
  });
  return {
    get server() {
      if (!server) throw new Error("the test server starts in a before hook; use it inside tests");
      return server;
    },
    get repository() {
      if (!repository) throw new Error("the repository is created in a before hook; use it inside tests");
      return repository.path;
    },
  };
}

export {
  LOG_LEVELS,
  loadServerConfig,
  serverConfigSchema,
  serverEnvVariables,
  SERVER_ENV_RENAMES,
  type ServerConfig,
  type ServerConfigInput,
} from "./server-config.js";
export { createLogger, type Logger } from "./logger.js";
export { startInferenceServer, openStoreFor, type InferenceServer, type ServerDependencies } from "./grpc-server.js";
export { MAX_LABELS_PER_CALL } from "./feedback.js";
export { SERVER_NAME, SERVER_VERSION, SERVER_EXTENSIONS, ONNX_PLATFORM } from "./service.js";
export { choosePolicyVersions, type ModelState, type ModelIndexEntry } from "./repository.js";
export { Tracing, KeepErrorsProcessor, SERVICE_NAME } from "./tracing.js";
export { ServerMetrics } from "./metrics.js";
export { startWorkerPool, type WorkerPool, type WorkerPoolOptions } from "./workers/pool.js";
export { isServingWorker, runServingWorker } from "./workers/worker.js";

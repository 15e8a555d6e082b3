export { loadServerConfig, serverConfigSchema, SERVER_ENV, type ServerConfig, type ServerConfigInput } from "./config.js";
export { createLogger, type Logger } from "./logger.js";
export { modelConfigSchema, parseModelConfig, readModelConfig, type ModelConfig, type MonitoredFeature } from "./model-config.js";
export { DATATYPES, type Datatype } from "./datatypes.js";
export { startInferenceServer, openStoreFor, type InferenceServer, type ServerDependencies } from "./server.js";
export { MAX_LABELS_PER_CALL } from "./feedback.js";
export { SERVER_NAME, SERVER_VERSION, SERVER_EXTENSIONS, ONNX_PLATFORM } from "./service.js";
export type { ModelState, ModelIndexEntry } from "./repository.js";

export { loadServerConfig, serverConfigSchema, SERVER_ENV, type ServerConfig, type ServerConfigInput } from "./config.js";
export { createLogger, type Logger } from "./logger.js";
export { modelConfigSchema, parseModelConfig, readModelConfig, type ModelConfig, type MonitoredFeature } from "./model-config.js";
export { DATATYPES, type Datatype } from "./datatypes.js";
export { startInferenceServer, type InferenceServer } from "./server.js";
export { SERVER_NAME, SERVER_VERSION, SERVER_EXTENSIONS, ONNX_PLATFORM } from "./service.js";
export type { ModelState, ModelIndexEntry } from "./repository.js";

export { DATATYPES, isDatatype, type Datatype } from "./datatypes.js";
export {
  EXECUTION_PROVIDERS,
  fullShape,
  modelConfigSchema,
  parseModelConfig,
  readModelConfig,
  type ConfigWarning,
  type ExecutionProvider,
  type ModelConfig,
  type MonitoredFeature,
  type TensorSpec,
} from "./model-config.js";
export { MODEL_CHECKSUM_FILE, MODEL_CONFIG_FILE, MODEL_FILE, REFERENCE_FILE, parseVersion, versionDirectory } from "./layout.js";

export { DATATYPES, isDatatype, type Datatype } from "./datatypes.js";
export {
  BATCHING_MODES,
  EXECUTION_PROVIDERS,
  fullShape,
  modelConfigSchema,
  parseModelConfig,
  readModelConfig,
  rolloutPolicyId,
  rolloutPolicySchema,
  ROLLOUT_MODES,
  type RolloutPolicy,
  type BatchingMode,
  type ConfigWarning,
  type ExecutionProvider,
  type ModelConfig,
  type MonitoredFeature,
  type TensorSpec,
} from "./model-config.js";
export { MODEL_CHECKSUM_FILE, MODEL_CONFIG_FILE, MODEL_FILE, REFERENCE_FILE, parseVersion, versionDirectory, versionsOnDisk } from "./layout.js";
export { writeModelVersion, type VersionFiles } from "./write-version.js";
export { checksumLine, checksumMismatch, modelChecksum } from "./checksum.js";
export { answerOfScores } from "./answer.js";

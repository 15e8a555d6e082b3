export * from "./gen/inference/grpc_service.js";
export {
  DataType,
  ModelConfig,
  ModelDynamicBatching,
  ModelInput,
  ModelInstanceGroup,
  ModelInstanceGroup_Kind,
  ModelOutput,
  ModelVersionPolicy,
} from "./gen/inference/model_config.js";
export {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  HealthService,
  type HealthServer,
} from "./gen/grpc/health/v1/health.js";

export {
  Label,
  SubmitLabelsRequest,
  SubmitLabelsResponse,
  FeedbackClient,
  FeedbackService,
  type FeedbackServer,
} from "./gen/vigil/v1/feedback.js";

import { fileURLToPath } from "node:url";

/** Directory holding the .proto sources, for tools that compile their own stubs (other languages, reflection). */
export const protoRoot = fileURLToPath(new URL("../proto", import.meta.url));

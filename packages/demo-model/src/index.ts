export {
  type AirportVocabulary,
  type FlightEncoder,
  type FlightRecord,
  CLASS_LABELS,
  DELAY_THRESHOLD_MINUTES,
  FEATURE_NAMES,
  OTHER_AIRPORT,
  buildVocabulary,
  createFlightEncoder,
  departureTime,
  isDelayed,
  loadFlights,
  shuffled,
  splitByMonth,
} from "./flights.js";
export { buildDemoModel, buildFlightMlpVersion, DEFAULT_MODEL_REPOSITORY, type DemoModelReport } from "./build.js";
export { DEMO_MODEL_NAME, demoModelConfig } from "./demo-config.js";
export { FLIGHTS_INPUT, FLIGHTS_OUTPUT, buildFlightDelayOnnx } from "./model.js";
export { buildFlightDelayMlpOnnx, trainFlightDelayMlp, type FlightMlpWeights } from "./mlp.js";
export { trainFlightDelayModel, type FlightDelayWeights } from "./train.js";
export { evaluateBinary, rocAuc, type BinaryEvaluation } from "./metrics.js";
export {
  buildOnnxModel,
  OnnxType,
  seededRandom,
  type OnnxGraphSpec,
  type OnnxNode,
  type OnnxValue,
  type OnnxInitializer,
} from "@vigil/onnx";

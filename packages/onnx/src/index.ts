export { buildOnnxModel, OnnxType, type OnnxGraphSpec, type OnnxNode, type OnnxValue, type OnnxInitializer, type OnnxAttribute } from "./onnx-builder.js";
export {
  NothingToQuantizeError,
  quantizeDynamicInt8,
  quantizePerColumn,
  type ChannelQuantized,
  type QuantizationResult,
  type QuantizedWeight,
} from "./quantize.js";
export {
  argmaxRows,
  compareInt8,
  formatInt8Comparison,
  openScoringSession,
  pairedAccuracy,
  scoreRows,
  type ComparisonInput,
  type Int8Comparison,
  type LatencyPair,
  type PairedAccuracy,
  type ScoringSession,
} from "./compare.js";
export { seededRandom, seededUniform } from "./seeded.js";

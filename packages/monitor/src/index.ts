export {
  classificationQuality, regressionQuality, LOG_LOSS_EPS,
  type ClassificationQuality, type RegressionQuality, type ClassScores, type QualityQuery,
} from "./quality.js";
export { windows, type Window } from "./window.js";
export { qualityResults, saveResults, type MonitorResult } from "./results.js";

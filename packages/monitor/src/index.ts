export {
  classificationQuality, regressionQuality, LOG_LOSS_EPS,
  type ClassificationQuality, type RegressionQuality, type ClassScores, type QualityQuery,
} from "./quality.js";
export { windows, type Window } from "./window.js";
export { qualityResults, saveResults, type MonitorResult } from "./results.js";
export { profileFromValues, saveProfiles, loadProfiles, quantileSorted, binOf, type FeatureSpec, type FeatureProfile, type NumericalProfile, type CategoricalProfile } from "./profiles.js";
export { featureDrift, DEFAULT_PSI_THRESHOLD, type FeatureDrift, type DriftQuery } from "./drift.js";
export {
  populationStabilityIndex, jensenShannonDistance, chiSquareTest, chiSquareSurvival, kolmogorovSmirnovPValue, gammaQ, logGamma, proportions, EMPTY_BIN_SHARE,
} from "./stats.js";

export {
  classificationQuality, regressionQuality, LOG_LOSS_EPS,
  type ClassificationQuality, type RegressionQuality, type ClassScores, type QualityQuery,
} from "./quality.js";
export { windows, type Window } from "./window.js";
export { qualityResults, saveResults, type MonitorResult } from "./results.js";
export { profileFromValues, saveProfiles, loadProfiles, quantileSorted, binOf, type FeatureSpec, type FeatureProfile, type NumericalProfile, type CategoricalProfile } from "./profiles.js";
export { REFERENCE_FILE, ensureProfiles, profilesFromFile, profilesFromWindow } from "./reference.js";
export { featureDrift, driftFromSummary, summarizeValues, DEFAULT_PSI_THRESHOLD, type FeatureDrift, type DriftQuery, type CurrentSummary } from "./drift.js";
export {
  populationStabilityIndex, jensenShannonDistance, chiSquareTest, coarsenCategories, chiSquareSurvival, kolmogorovSmirnovPValue, gammaQ, logGamma, proportions, EMPTY_BIN_SHARE,
} from "./stats.js";
export { decideDrift, datasetDrift, twoProportionZTest, DEFAULT_DECISION, type DriftDecision, type DriftMethod, type DecisionOptions } from "./decision.js";
export { MonitorJob, evaluateWindow, servedVersions, type ModelSource, type MonitoredModel, type MonitorHealth, type MonitorJobOptions } from "./job.js";
export { loadMonitorConfig, monitorConfigSchema, driftOptionsFor, type MonitorConfig, type MonitorConfigInput } from "./config.js";
export * from "./alerting/index.js";
export { buildMonitorApi, startMonitorApi, OPENAPI_PATH, type MonitorApiOptions, type ModelLookup } from "./api/server.js";
export type { OverviewPoint, OverviewTotals, ResultPoint, PredictionRow, PredictionDetail } from "./api/queries.js";
export type { AlertHistoryRow } from "./alerting/history.js";
export type { TraceSummary, TraceSpan } from "@vigil/store";

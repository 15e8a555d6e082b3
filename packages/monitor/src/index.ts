export {
  classificationQuality,
  regressionQuality,
  LOG_LOSS_EPS,
  type ClassificationQuality,
  type RegressionQuality,
  type ClassScores,
  type QualityQuery,
} from "./quality.js";
export { windows, type Window } from "./window.js";
export {
  fitCalibration,
  fitIsotonic,
  applyCalibrator,
  calibrateClass,
  expectedCalibrationError,
  identityCalibration,
  type CalibrationSample,
  type ReferenceCalibration,
  type ClassCalibration,
  type ScoreCalibrator,
  type SamplingComponent,
} from "./cbpe.js";
export {
  estimatePerformance,
  estimationResults,
  estimationErrors,
  ESTIMATION_ERROR_SUFFIX,
  SAMPLING_ERROR_RANGE,
  type PerformanceEstimate,
  type EstimatedFigure,
  type EstimationQuery,
} from "./cbpe-estimate.js";
export { calibrationSampleFromFile, calibrationSampleFromWindow, calibrateFromWindow, ensureCalibration } from "./cbpe-reference.js";
export { saveCalibration, loadCalibration } from "@vigil/store";
export { qualityResults, regressionResults, type MonitorResult } from "./results.js";
export { windowedClassificationQuality, type WindowedClassificationQuality } from "./window-quality.js";
export { storedHistograms, type StoredHistogram } from "./stored-drift.js";
export { profileFromValues, quantileSorted, binOf, type FeatureSpec, type FeatureProfile, type NumericalProfile, type CategoricalProfile } from "./profiles.js";
export { saveProfiles, loadProfiles, servedVersions } from "@vigil/store";
export { ensureProfiles, ensureReconstruction, profilesFromFile, profilesFromWindow, referenceRows, type ReferenceRow } from "./reference.js";
export { dataQuality, dataQualityResults, type DataQuality, type InputQuality } from "./data-quality.js";
export {
  fitReconstruction,
  reconstructionBand,
  reconstructionDrift,
  reconstructionErrors,
  RECONSTRUCTION_ERROR,
  EXPLAINED_VARIANCE,
  type ReconstructionDrift,
  type ReconstructionFit,
} from "./multivariate.js";
export {
  catalogLookup,
  catalogRepository,
  catalogRollouts,
  catalogSource,
  describeResults,
  monitoredInputs,
  readCatalog,
  startMonitor,
  type CatalogModel,
} from "./catalog.js";
export { buildReport, formatAccuracyChange, formatReport, formatTable, type ReportKind, type ReportWindow } from "./report.js";
export {
  describeSegment,
  explainAccuracyChange,
  parseSegment,
  segmentRows,
  type AccuracyChange,
  type CategoryContribution,
  type Segment,
} from "./segments.js";
export { featureDrift, driftFromSummary, summarizeValues, DEFAULT_PSI_THRESHOLD, type FeatureDrift, type DriftQuery, type CurrentSummary } from "./drift.js";
export {
  populationStabilityIndex,
  jensenShannonDistance,
  chiSquareTest,
  coarsenCategories,
  chiSquareSurvival,
  kolmogorovSmirnovPValue,
  kolmogorovSmirnovStatistic,
  kolmogorovSmirnovTwoSample,
  KS_EXACT_MAX_SIZE,
  gammaQ,
  logGamma,
  proportions,
  EMPTY_BIN_SHARE,
} from "./stats.js";
export { decideDrift, datasetDrift, twoProportionZTest, DEFAULT_DECISION, type DriftDecision, type DriftMethod, type DecisionOptions } from "./decision.js";
export { MonitorJob, evaluateWindow, type ModelSource, type MonitoredModel, type MonitorHealth, type MonitorJobOptions } from "./job.js";
export { loadMonitorConfig, monitorConfigSchema, driftOptionsFor, type MonitorConfig, type MonitorConfigInput } from "./monitor-config.js";
export * from "./alerting/index.js";
export { buildMonitorApi, startMonitorApi } from "./api/http-server.js";
export { OPENAPI_PATH } from "./api/openapi.js";
export type { MonitorApiOptions, ModelLookup, RepositoryListing, RepositoryModel } from "./api/route.js";
export {
  responseSchemas,
  errorSchema,
  healthSchema,
  overviewSchema,
  overviewPointSchema,
  overviewTotalsSchema,
  modelResultsSchema,
  resultPointSchema,
  confusionSchema,
  windowConfusionSchema,
  histogramsSchema,
  histogramSchema,
  slosSchema,
  sloStatusSchema,
  sloBurnSchema,
  alertsSchema,
  alertSchema,
  silencesSchema,
  silenceSchema,
  tracesSchema,
  traceSummarySchema,
  traceSchema,
  traceSpanSchema,
  predictionPageSchema,
  predictionRowSchema,
  predictionDetailSchema,
  segmentReportSchema,
  accuracyChangeSchema,
  modelsSchema,
  repositoryModelSchema,
  rolloutSchema,
  type RolloutResponse,
  type ModelsResponse,
  type RepositoryModelResponse,
  type SegmentReportResponse,
  type AccuracyChangeResponse,
  type ErrorResponse,
  type HealthResponse,
  type OverviewResponse,
  type OverviewPoint,
  type OverviewTotals,
  type ModelResultsResponse,
  type ResultPoint,
  type ConfusionResponse,
  type WindowConfusionResponse,
  type HistogramsResponse,
  type Histogram,
  type SlosResponse,
  type SloStatus,
  type SloBurnResponse,
  type AlertsResponse,
  type SilencesResponse,
  type SilenceResponse,
  type TracesResponse,
  type TraceSummary,
  type TraceResponse,
  type TracePrediction,
  type PredictionPageResponse,
  type PredictionRow,
  type PredictionDetail,
} from "./api/schemas.js";
export type { TraceSpan, TraceSpanEvent, TraceOrder } from "@vigil/store";
export type { StatusFilter } from "./api/params.js";
export {
  MonitorError,
  InvalidRequestError,
  UnauthorizedError,
  NotFoundError,
  NoDataError,
  ConfigError,
  InternalError,
  UpstreamError,
  UnavailableError,
  asMonitorError,
} from "./errors.js";
export { LeaderLease, type LeaseOptions } from "./lease.js";
export {
  lookAlpha,
  mannWhitneyU,
  mcnemarExact,
  overallVerdict,
  testVerdict,
  twoProportionTest,
  wilsonInterval,
} from "./rollout/rollout-stats.js";
export { judgeRollout, rolloutEventOf, rolloutStatus, type RolloutJudgement, type RolloutStatus, type VersionFigures } from "./rollout/rollout-judge.js";
export { rolloutJudge, VERDICT_METRIC, ROLLED_BACK_METRIC, type RolloutModel } from "./rollout/rollout-monitor.js";

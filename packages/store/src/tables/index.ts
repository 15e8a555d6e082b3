export {
  isoFromClickHouse,
  formatDateTime64,
  formatDateTime64Millis,
  formatDateTime64Nanos,
  clickHouseFloat,
} from "./columns.js";
export {
  MODEL_SCOPE,
  MINUTE_RANGE,
  timestampRangeMicros,
  okPredictionsOfModel,
  okPredictionsIn,
  versionOfModel,
  segmentFilter,
  segmentParams,
  type SegmentFilter,
  type TimeRange,
} from "./filters.js";
export {
  PREDICTIONS,
  PREDICTION_ROLES,
  type PredictionRole,
  predictionInsertSchema,
  predictionReadSchema,
  predictionRow,
  getPrediction,
  getShadowPredictions,
  listPredictions,
  servedVersions,
  modelsOfRequests,
  type PredictionRecord,
  type PredictionInsert,
  type PredictionSummary,
  type PredictionFilter,
} from "./predictions.js";
export { LABELS, LABELLED_ROWS, labelInsertSchema, labelRow, labelKey, newestLabels, type LabelRecord, type LabelInsert, type NewestLabel } from "./labels.js";
export {
  SPANS,
  TRACE_BOUNDS,
  spanInsertSchema,
  spanRow,
  traceTree,
  recentTraces,
  type SpanRecord,
  type SpanInsert,
  type TraceSpan,
  type TraceSpanEvent,
  type TraceOrder,
  type TraceSummary,
  type TraceFilter,
} from "./spans.js";
export { PREDICTIONS_PER_MINUTE } from "./predictions-per-minute.js";
export { REQUESTS_PER_MINUTE } from "./requests-per-minute.js";
export {
  REFERENCE_PROFILES,
  REFERENCE_SAMPLE_LIMIT,
  profileInsertSchema,
  profileReadSchema,
  saveProfiles,
  loadProfiles,
  type FeatureProfile,
  type NumericalProfile,
  type CategoricalProfile,
  type ProfileInsert,
} from "./reference-profiles.js";
export {
  REFERENCE_CALIBRATIONS,
  calibrationInsertSchema,
  calibrationReadSchema,
  saveCalibration,
  loadCalibration,
  type ReferenceCalibration,
  type ClassCalibration,
  type ScoreCalibrator,
  type SamplingComponent,
  type CalibrationInsert,
} from "./reference-calibrations.js";
export {
  MONITOR_RESULTS,
  DATASET_DRIFT_SHARE,
  MONITOR_RESULT_KINDS,
  type MonitorResultKind,
  monitorResultInsertSchema,
  monitorResultReadSchema,
  saveMonitorResults,
  readMonitorResults,
  latestMonitorValues,
  type MonitorResult,
  type MonitorResultInsert,
  type MonitorResultQuery,
  type ResultSeries,
  type FeatureDriftFigure,
} from "./monitor-results.js";
export {
  ALERTS,
  alertInsertSchema,
  alertReadSchema,
  saveAlertChanges,
  readAlertChanges,
  readActiveAlerts,
  readSloIncidents,
  type AlertChange,
  type AlertChangeState,
  type AlertInsert,
  type AlertIncident,
} from "./alerts.js";
export { SILENCES, silenceInsertSchema, silenceReadSchema, saveSilence, readSilences, type SilenceRecord, type SilenceInsert } from "./silences.js";
export {
  NOTIFICATIONS,
  notificationInsertSchema,
  saveNotificationAttempts,
  readDeliveredNotifications,
  type NotificationAttempt,
  type NotificationInsert,
  type DeliveryOutcome,
  type DeliveredNotification,
} from "./notifications.js";
export { MONITOR_LEASE, readLeaseTerm, insertLeaseClaim, type LeaseTerm, type LeaseClaim, type LeaseClaimInsert } from "./monitor-lease.js";
export {
  RECONSTRUCTION_FITS,
  reconstructionFitSchema,
  saveReconstructionFit,
  loadReconstructionFit,
  type ReconstructionFit,
} from "./reconstruction-fits.js";
export {
  ROLLOUT_EVENTS,
  ROLLOUT_ACTIONS,
  type RolloutAction,
  type RolloutEvent,
  saveRolloutEvent,
  listRolloutEvents,
} from "./rollout-events.js";

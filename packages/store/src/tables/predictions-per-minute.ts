/**
 * Per-minute serving figures per model version (requests, errors, latency sum and t-digest
 * quantile states at 0.5/0.9/0.95/0.99), filled from predictions by a materialized view
 * (migrations/0001_predictions.sql). Only the monitor's analyses read it, filtered by MODEL_SCOPE
 * and MINUTE_RANGE; nothing writes it directly.
 */
export const PREDICTIONS_PER_MINUTE = "predictions_per_minute";

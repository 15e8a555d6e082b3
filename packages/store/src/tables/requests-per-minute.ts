/**
 * Requests per minute, model version, status and `le_us` latency bucket, filled from
 * predictions by a materialized view (migrations/0005_alerting.sql): what SLOs and error rates
 * count. Only the monitor's analyses read it, filtered by MODEL_SCOPE and MINUTE_RANGE; nothing
 * writes it directly.
 */
export const REQUESTS_PER_MINUTE = "requests_per_minute";

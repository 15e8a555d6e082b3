-- requests_per_minute.requests counts prediction rows, and a batched request has one row per
-- input row. `calls` counts the requests themselves (the row with row_index 0 of each, which a
-- refused request has too), so the Overview's request figures match vigil_inference_requests_total.
-- A second view fills it, since a view's query cannot be changed in place; the first view's rows
-- carry calls = 0 and this view's rows requests = 0, and SummingMergeTree adds them up. Minutes
-- before this migration have no calls.
ALTER TABLE requests_per_minute ADD COLUMN IF NOT EXISTS calls UInt64 DEFAULT 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS requests_per_minute_calls_mv TO requests_per_minute AS
SELECT
    toStartOfMinute(timestamp) AS minute,
    model_name,
    model_version,
    status,
    toUInt32(multiIf(latency_us <= 10000, intDiv(latency_us + 99, 100) * 100,
                     latency_us <= 1000000, intDiv(latency_us + 999, 1000) * 1000,
                     intDiv(latency_us + 99999, 100000) * 100000)) AS le_us,
    toUInt64(0) AS requests,
    count() AS calls
FROM predictions
WHERE row_index = 0
GROUP BY minute, model_name, model_version, status, le_us;

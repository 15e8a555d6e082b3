-- One row per inference request row: what was asked, what was answered, how long it took.
-- The dedup window makes a replayed batch (same insert_deduplication_token) a no-op.
CREATE TABLE IF NOT EXISTS predictions (
    timestamp     DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    request_id    String,
    row_index     UInt32,
    trace_id      String,
    span_id       String,
    model_name    LowCardinality(String),
    model_version LowCardinality(String),
    status        LowCardinality(String),
    error         String,
    latency_us    UInt32,
    queue_us      UInt32,
    compute_us    UInt32,
    batch_size    UInt16,
    features      Array(Float64),
    prediction    String,
    scores        Array(Float32),
    confidence    Float32,
    client        LowCardinality(String),
    INDEX idx_request_id request_id TYPE bloom_filter(0.001) GRANULARITY 4,
    INDEX idx_status status TYPE set(16) GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (model_name, model_version, timestamp)
TTL toDateTime(timestamp) + toIntervalDay(30)
SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1;

-- Ground truth that arrives after the prediction; the newest label for a row wins.
CREATE TABLE IF NOT EXISTS labels (
    request_id String,
    row_index  UInt32,
    model_name LowCardinality(String),
    label      String,
    timestamp  DateTime64(6, 'UTC'),
    source     LowCardinality(String)
) ENGINE = ReplacingMergeTree(timestamp)
ORDER BY (request_id, row_index)
SETTINGS non_replicated_deduplication_window = 10000;

-- Per-minute serving figures, fed by a materialized view, so dashboards over weeks read minutes, not rows.
CREATE TABLE IF NOT EXISTS predictions_per_minute (
    minute        DateTime('UTC'),
    model_name    LowCardinality(String),
    model_version LowCardinality(String),
    requests      SimpleAggregateFunction(sum, UInt64),
    errors        SimpleAggregateFunction(sum, UInt64),
    latency_us_sum SimpleAggregateFunction(sum, UInt64),
    latency_us_quantiles AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), UInt32)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (model_name, model_version, minute)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS predictions_per_minute_mv TO predictions_per_minute AS
SELECT
    toStartOfMinute(timestamp) AS minute,
    model_name,
    model_version,
    count() AS requests,
    countIf(status != 'OK') AS errors,
    sum(latency_us) AS latency_us_sum,
    quantilesTDigestState(0.5, 0.9, 0.95, 0.99)(latency_us) AS latency_us_quantiles
FROM predictions
GROUP BY minute, model_name, model_version;

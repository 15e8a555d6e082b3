-- What SLOs count, per minute: requests by status and by latency rounded up to a bucket bound
-- (100 us steps to 10 ms, 1 ms steps to 1 s, 100 ms steps beyond), so "latency <= T" is exact for
-- any threshold on a bound and an SLO over weeks reads minutes, not rows.
CREATE TABLE IF NOT EXISTS requests_per_minute (
    minute        DateTime('UTC'),
    model_name    LowCardinality(String),
    model_version LowCardinality(String),
    status        LowCardinality(String),
    le_us         UInt32,
    requests      UInt64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (model_name, model_version, minute, status, le_us)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS requests_per_minute_mv TO requests_per_minute AS
SELECT
    toStartOfMinute(timestamp) AS minute,
    model_name,
    model_version,
    status,
    toUInt32(multiIf(latency_us <= 10000, intDiv(latency_us + 99, 100) * 100,
                     latency_us <= 1000000, intDiv(latency_us + 999, 1000) * 1000,
                     intDiv(latency_us + 99999, 100000) * 100000)) AS le_us,
    count() AS requests
FROM predictions
GROUP BY minute, model_name, model_version, status, le_us;

-- Silences: while one is active, alerts its matchers select are recorded but not sent.
CREATE TABLE IF NOT EXISTS silences (
    id         String,
    matchers   String,
    starts_at  DateTime64(3, 'UTC'),
    ends_at    DateTime64(3, 'UTC'),
    created_by String,
    comment    String,
    updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id;

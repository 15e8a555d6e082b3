-- What the monitor compares traffic against: per model version and feature, from a reference dataset.
CREATE TABLE IF NOT EXISTS reference_profiles (
    model_name      LowCardinality(String),
    model_version   LowCardinality(String),
    feature         String,
    kind            LowCardinality(String),
    created_at      DateTime64(3, 'UTC'),
    sample_size     UInt64,
    bin_edges       Array(Float64),
    bin_counts      Array(UInt64),
    quantiles       Array(Float64),
    categories      Array(String),
    category_counts Array(UInt64),
    mean            Float64,
    std             Float64,
    min             Float64,
    max             Float64
) ENGINE = ReplacingMergeTree(created_at)
ORDER BY (model_name, model_version, feature);

-- One figure per window: re-running a window replaces its rows (newest computed_at wins).
CREATE TABLE IF NOT EXISTS monitor_results (
    window_start  DateTime64(3, 'UTC'),
    window_end    DateTime64(3, 'UTC'),
    model_name    LowCardinality(String),
    model_version LowCardinality(String),
    kind          LowCardinality(String),
    metric        LowCardinality(String),
    feature       String,
    value         Float64,
    threshold     Float64,
    breached      UInt8,
    details       String,
    computed_at   DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (model_name, model_version, kind, metric, feature, window_start, window_end);

-- Every alert state change.
CREATE TABLE IF NOT EXISTS alerts (
    fingerprint String,
    rule        LowCardinality(String),
    labels      Map(LowCardinality(String), String),
    annotations Map(LowCardinality(String), String),
    state       LowCardinality(String),
    value       Float64,
    starts_at   DateTime64(3, 'UTC'),
    ends_at     Nullable(DateTime64(3, 'UTC')),
    changed_at  DateTime64(3, 'UTC')
) ENGINE = MergeTree
PARTITION BY toYYYYMM(changed_at)
ORDER BY (fingerprint, changed_at)
SETTINGS non_replicated_deduplication_window = 10000;

-- Every webhook delivery attempt and how it went.
CREATE TABLE IF NOT EXISTS notifications (
    delivery_id  String,
    receiver     LowCardinality(String),
    group_key    String,
    attempt      UInt32,
    attempted_at DateTime64(3, 'UTC'),
    status_code  UInt16,
    outcome      LowCardinality(String),
    error        String,
    payload      String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(attempted_at)
ORDER BY (receiver, attempted_at)
SETTINGS non_replicated_deduplication_window = 10000;

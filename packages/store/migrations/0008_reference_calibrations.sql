-- Confidence-based performance estimation: per model version, the score calibrators fitted on a
-- labelled reference (isotonic step functions, one per class; binary models keep one, for the
-- positive class) and the reference's sampling-error components, from which every window's
-- estimated figures get their standard error. Refitting replaces the row (newest created_at wins).
CREATE TABLE IF NOT EXISTS reference_calibrations (
    model_name       LowCardinality(String),
    model_version    LowCardinality(String),
    created_at       DateTime64(3, 'UTC'),
    classes          Array(String),
    sample_size      UInt64,
    calibrated       Array(UInt8),
    thresholds       Array(Array(Float64)),
    calibrated_values Array(Array(Float64)),
    ece_raw          Array(Float64),
    ece_calibrated   Array(Float64),
    accuracy_std     Float64,
    precision_std    Array(Float64),
    precision_share  Array(Float64),
    recall_std       Array(Float64),
    recall_share     Array(Float64),
    f1_std           Array(Float64),
    f1_share         Array(Float64),
    roc_auc_std      Array(Float64),
    roc_auc_share    Array(Float64)
) ENGINE = ReplacingMergeTree(created_at)
ORDER BY (model_name, model_version);

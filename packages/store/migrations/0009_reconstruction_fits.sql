-- Multivariate drift: per model version, the reconstruction-error model fitted on the reference
-- (encoding, scaling, principal components and the reference's error spread), as JSON. The
-- newest fit wins.
CREATE TABLE IF NOT EXISTS reconstruction_fits (
    model_name    LowCardinality(String),
    model_version LowCardinality(String),
    created_at    DateTime64(3, 'UTC'),
    fit           String
) ENGINE = ReplacingMergeTree(created_at)
ORDER BY (model_name, model_version);

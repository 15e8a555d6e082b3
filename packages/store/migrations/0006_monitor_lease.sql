-- Which `vigil monitor` evaluates (monitor job, alerting, notifications) when several run for
-- availability. ClickHouse has no compare-and-set, so the lease is a log of claims: a candidate
-- inserts a claim for a term, and every reader derives the same holder from the same rows (the
-- earliest claim of the highest term; tables/monitor-lease.ts states the protocol and why it is
-- safe). A renewal re-inserts the holder's row with a later expiry; rows are read aggregated
-- (min claimed_at, max expires_at per holder), so no read depends on when parts merge, and the
-- table keeps one row per term and candidate once they do.
CREATE TABLE IF NOT EXISTS monitor_lease (
    name       LowCardinality(String),
    term       UInt64,
    holder     String,
    claimed_at DateTime64(3, 'UTC'),
    expires_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(expires_at)
ORDER BY (name, term, holder);

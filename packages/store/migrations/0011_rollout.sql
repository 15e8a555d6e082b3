-- Rollouts (a candidate version beside the primary one). `role` says how a prediction row reached
-- the log: 'primary' answered the client as the model's primary version (every row before this
-- migration), 'canary' answered the client from the candidate version, 'shadow' is the
-- candidate's answer to a request the primary answered (same request_id and row_index), never
-- sent to the client.
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS role LowCardinality(String) DEFAULT 'primary';

-- Shadow rows are not traffic: the per-minute rollups (traffic, latency, errors, SLOs) count only
-- what clients were answered with. A view's query cannot be changed in place, so each is dropped
-- and created again with the filter; rows inserted while a view is missing (a migration running
-- beside a live server) are not counted in that minute's rollup.
DROP VIEW IF EXISTS predictions_per_minute_mv;

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
WHERE role != 'shadow'
GROUP BY minute, model_name, model_version;

DROP VIEW IF EXISTS requests_per_minute_mv;

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
WHERE role != 'shadow'
GROUP BY minute, model_name, model_version, status, le_us;

DROP VIEW IF EXISTS requests_per_minute_calls_mv;

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
WHERE row_index = 0 AND role != 'shadow'
GROUP BY minute, model_name, model_version, status, le_us;

-- Every change of a model's rollout: a server applying a policy ('started'), the monitor or a
-- person taking the candidate out of traffic ('rolled_back'), a person promoting it ('promoted').
-- `policy_id` names one rollout policy (a hash of its settings), so a rollback applies to the
-- policy it judged and a new policy starts clean. `judged_to` is the end of the rows a decision
-- rests on: the end of the window the monitor judged when it rolled a canary back (which can be
-- well before the event is written: the monitor's lag, a backlog of windows), the event's own
-- time for a person's promote or rollback. It lets a decided rollout be judged again exactly as
-- it was decided, at the same look.
CREATE TABLE IF NOT EXISTS rollout_events (
    timestamp         DateTime64(3, 'UTC'),
    model_name        LowCardinality(String),
    policy_id         String,
    action            LowCardinality(String),
    mode              LowCardinality(String),
    primary_version   String,
    candidate_version String,
    actor             LowCardinality(String),
    reason            String,
    policy            String,
    judged_to         DateTime64(3, 'UTC') DEFAULT timestamp
) ENGINE = MergeTree
ORDER BY (model_name, timestamp)
SETTINGS non_replicated_deduplication_window = 1000;

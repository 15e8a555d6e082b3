import { LABELS, PREDICTIONS, type StoreEngine, timestampRangeMicros } from "@vigil/store";
import { SERVER_FAULT_STATUSES } from "../alerting/signals.js";
import type { RankSums } from "./rollout-stats.js";

/**
 * The rollout's aggregations, all in ClickHouse: JS gets a few rows per monitor window. Rows of
 * the primary are the primary version's rows answered as 'primary'; rows of the candidate are
 * its rows in the policy's role ('canary' or 'shadow'). Requests that named a version are
 * neither's (role 'primary' of another version) unless that version is the primary.
 */
export interface RolloutScope {
  model: string;
  primary: string;
  candidate: string;
  /** How the candidate's rows are logged: 'canary' or 'shadow'. */
  candidateRole: "canary" | "shadow";
  /** [fromUs, toUs): the rollout's rows so far. */
  fromUs: number;
  toUs: number;
  /** Monitor windows end on multiples of this (microseconds). */
  stepUs: number;
  /**
   * The time compared between the versions: a canary's requests take the primary's path, so
   * their whole latency; a shadow runs after the primary's answer and yields to the primary's
   * requests, so its latency holds that waiting, and only the model's compute time compares.
   */
  timing: "latency_us" | "compute_us";
}

const params = (scope: RolloutScope) => ({
  model: scope.model,
  primary: scope.primary,
  candidate: scope.candidate,
  role: scope.candidateRole,
  from: Math.floor(scope.fromUs),
  to: Math.ceil(scope.toUs),
  step: Math.round(scope.stepUs),
  faults: SERVER_FAULT_STATUSES,
});

const ROLLOUT_ROWS = (alias: string) =>
  `${alias}model_name = {model:String} AND ${timestampRangeMicros(alias)}
   AND ((${alias}role = 'primary' AND ${alias}model_version = {primary:String}) OR (${alias}role = {role:String} AND ${alias}model_version = {candidate:String}))`;

/** The model's labels, newest per row, keyed as the predictions join them (see quality-sql.ts). */
const LABEL_KEYS = `SELECT murmurHash3_128(request_id, row_index) AS row_key, label, toUInt8(1) AS has FROM ${LABELS} FINAL WHERE model_name = {model:String}`;

/** The monitor window (its index: end / step − 1) a row falls in. */
const WINDOW_OF = (alias: string) => `intDiv(toUnixTimestamp64Micro(${alias}timestamp), {step:Int64})`;

/** One version's counts over a window, or over the whole rollout when `window` is null. */
export interface VersionCounts {
  window: number | null;
  candidate: boolean;
  rows: number;
  errors: number;
  labelled: number;
  correct: number;
  /** p50, p95, p99 of OK calls' `scope.timing` (one per request), microseconds; NaN without calls. */
  latencyUs: [number, number, number];
}

/**
 * Rows, server-side errors, labelled OK rows and correct ones per version, per monitor window
 * and over the whole range (one GROUPING SETS pass). Latency percentiles are exact
 * (type 7, numpy's default), of OK calls: a batch's rows share its latency.
 */
export async function versionCounts(engine: StoreEngine, scope: RolloutScope): Promise<VersionCounts[]> {
  const rows = await engine.query<{
    g: number;
    w: string | number;
    candidate: number;
    rows: string | number;
    errors: string | number;
    labelled: string | number;
    correct: string | number;
    latency: number[];
    calls: string | number;
  }>(
    `SELECT grouping(w, candidate) AS g, ${WINDOW_OF("p.")} AS w, p.role = {role:String} AS candidate, count() AS rows,
            countIf(p.status IN {faults:Array(String)}) AS errors,
            countIf(l.has = 1 AND p.status = 'OK') AS labelled,
            countIf(l.has = 1 AND p.status = 'OK' AND p.prediction = l.label) AS correct,
            countIf(p.status = 'OK' AND p.row_index = 0) AS calls,
            quantilesExactInclusiveIf(0.5, 0.95, 0.99)(toFloat64(p.${scope.timing}), p.status = 'OK' AND p.row_index = 0) AS latency
     FROM ${PREDICTIONS} AS p
     LEFT JOIN (${LABEL_KEYS}) AS l ON murmurHash3_128(p.request_id, p.row_index) = l.row_key
     WHERE ${ROLLOUT_ROWS("p.")}
     GROUP BY GROUPING SETS ((w, candidate), (candidate))
     ORDER BY g, w, candidate`,
    params(scope),
  );
  return rows.map((r) => ({
    // grouping() sets a bit for each column left out of the set: 2 is (candidate) alone.
    window: Number(r.g) === 0 ? Number(r.w) : null,
    candidate: Number(r.candidate) === 1,
    rows: Number(r.rows),
    errors: Number(r.errors),
    labelled: Number(r.labelled),
    correct: Number(r.correct),
    latencyUs: Number(r.calls) === 0 ? [Number.NaN, Number.NaN, Number.NaN] : [r.latency[0]!, r.latency[1]!, r.latency[2]!],
  }));
}

/** Shadow pairs (the candidate's row and the primary's for one request row, both OK) over a window, or the whole rollout when `window` is null. */
export interface PairCounts {
  window: number | null;
  pairs: number;
  /** Pairs predicting the same. */
  agree: number;
  labelled: number;
  /** Labelled pairs only the primary got right, and only the candidate. */
  primaryOnly: number;
  candidateOnly: number;
}

/** Agreement and McNemar's discordant pairs of a shadow rollout: candidate rows joined to the primary's on (request_id, row_index), per window and overall. */
export async function pairCounts(engine: StoreEngine, scope: RolloutScope): Promise<PairCounts[]> {
  const side = (alias: string, role: string, version: string) =>
    `SELECT murmurHash3_128(request_id, row_index) AS row_key, prediction, ${WINDOW_OF("")} AS w FROM ${PREDICTIONS} AS ${alias}
     WHERE ${alias}.model_name = {model:String} AND ${timestampRangeMicros(`${alias}.`)} AND ${alias}.status = 'OK'
       AND ${alias}.role = ${role} AND ${alias}.model_version = ${version}`;
  const rows = await engine.query<{
    g: number;
    w: string | number;
    pairs: string | number;
    agree: string | number;
    labelled: string | number;
    primary_only: string | number;
    candidate_only: string | number;
  }>(
    `SELECT grouping(c.w) AS g, c.w AS w, count() AS pairs, countIf(c.prediction = p.prediction) AS agree,
            countIf(l.has = 1) AS labelled,
            countIf(l.has = 1 AND p.prediction = l.label AND c.prediction != l.label) AS primary_only,
            countIf(l.has = 1 AND c.prediction = l.label AND p.prediction != l.label) AS candidate_only
     FROM (${side("cs", "'shadow'", "{candidate:String}")}) AS c
     INNER JOIN (${side("ps", "'primary'", "{primary:String}")}) AS p ON c.row_key = p.row_key
     LEFT JOIN (${LABEL_KEYS}) AS l ON c.row_key = l.row_key
     GROUP BY GROUPING SETS ((c.w), ())
     ORDER BY g, w`,
    params(scope),
  );
  return rows.map((r) => ({
    window: Number(r.g) === 0 ? Number(r.w) : null,
    pairs: Number(r.pairs),
    agree: Number(r.agree),
    labelled: Number(r.labelled),
    primaryOnly: Number(r.primary_only),
    candidateOnly: Number(r.candidate_only),
  }));
}

/**
 * The candidate's rank sum of `scope.timing` among both versions' OK calls, ties at their mean rank, and
 * Σ (t³ − t) over groups of equal latency: rows are counted per distinct latency, and a running
 * sum over the sorted latencies gives each group's first rank, so no row leaves ClickHouse.
 */
export async function latencyRankSums(engine: StoreEngine, scope: RolloutScope): Promise<RankSums> {
  const [row] = await engine.query<{ rank_sum: number; n1: string | number; n2: string | number; ties: number }>(
    `SELECT sum(cand * (below + (cand + prim + 1) / 2)) AS rank_sum, sum(cand) AS n1, sum(prim) AS n2,
            sum(pow(toFloat64(cand + prim), 3) - (cand + prim)) AS ties
     FROM (
       SELECT duration_us, cand, prim,
              sum(cand + prim) OVER (ORDER BY duration_us ASC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS below
       FROM (
         SELECT p.${scope.timing} AS duration_us, toFloat64(countIf(p.role = {role:String})) AS cand, toFloat64(countIf(p.role != {role:String})) AS prim
         FROM ${PREDICTIONS} AS p
         WHERE ${ROLLOUT_ROWS("p.")} AND p.status = 'OK' AND p.row_index = 0
         GROUP BY duration_us
       )
     )`,
    params(scope),
  );
  return { candidateRankSum: Number(row?.rank_sum ?? 0), candidateN: Number(row?.n1 ?? 0), primaryN: Number(row?.n2 ?? 0), tieSum: Number(row?.ties ?? 0) };
}

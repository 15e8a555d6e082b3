/**
 * WHERE fragments shared by the table modules and the monitor's analyses, so a scope or a time
 * range means the same in every query. Each names the bound parameters it reads; none carries a
 * value into the SQL text.
 */

/** Rows of one model ('' for all) and version ('' for all): the {model} and {version} parameters. */
export const MODEL_SCOPE = `({model:String} = '' OR model_name = {model:String}) AND ({version:String} = '' OR model_version = {version:String})`;

/** Rollup minutes in [{from}, {to}), both UInt32 epoch seconds. */
export const MINUTE_RANGE = "minute >= toDateTime({from:UInt32}, 'UTC') AND minute < toDateTime({to:UInt32}, 'UTC')";

/** A prediction or label time in [{from}, {to}), both Int64 epoch microseconds; `alias` qualifies the column in a join. */
export const timestampRangeMicros = (alias = "") =>
  `${alias}timestamp >= fromUnixTimestamp64Micro({from:Int64}, 'UTC') AND ${alias}timestamp < fromUnixTimestamp64Micro({to:Int64}, 'UTC')`;

/**
 * Prediction rows of version {version}, or when it is '' of the model as its clients were
 * answered: a shadow candidate's rows count only when its version is asked for.
 */
export const versionOfModel = (alias = "") => `(({version:String} = '' AND ${alias}role != 'shadow') OR ${alias}model_version = {version:String})`;

/**
 * The OK predictions of one model ({model}) and version ({version}, '' for all) in [{from}, {to})
 * microseconds: the rows every monitor window evaluates. `alias` qualifies the columns in a join.
 * Rows whose scores hold NaN or ±Infinity are left out even when logged OK (the server logs them
 * as NON_FINITE_OUTPUT, older logs do not): they are no prediction to judge, and quality's
 * arithmetic on them (a confidence bin cast to an integer) fails.
 */
export const okPredictionsOfModel = (alias = "") =>
  `${alias}model_name = {model:String} AND ${versionOfModel(alias)} AND ${alias}status = 'OK' AND ${timestampRangeMicros(alias)} AND arrayAll(s -> isFinite(s), ${alias}scores)`;

export interface TimeRange {
  /** Inclusive, microseconds since the epoch. */
  fromUs: number;
  /** Exclusive. */
  toUs: number;
}

/**
 * A slice of the prediction log chosen when asked: one monitored feature's value (at
 * {segment_index} of `features`) in [{segment_from}, {segment_to}), a category code c being
 * [c − 0.5, c + 0.5); and/or one client ({segment_client}). An index below 0 or an empty client
 * leaves that part open. Only queries asked about a segment include it (see segmentParams).
 */
export const segmentFilter = (alias = "") =>
  `({segment_index:Int32} < 0 OR (length(${alias}features) > {segment_index:Int32} AND ${alias}features[{segment_index:Int32} + 1] >= {segment_from:Float64} AND ${alias}features[{segment_index:Int32} + 1] < {segment_to:Float64})) AND ({segment_client:String} = '' OR ${alias}client = {segment_client:String})`;

/** Which rows a segment keeps, by position in the log's `features` array and client. */
export interface SegmentFilter {
  featureIndex?: number;
  from?: number;
  to?: number;
  client?: string;
}

/** The bound parameters of segmentFilter. */
export function segmentParams(segment: SegmentFilter): Record<string, unknown> {
  return { segment_index: segment.featureIndex ?? -1, segment_from: segment.from ?? 0, segment_to: segment.to ?? 0, segment_client: segment.client ?? "" };
}

/** okPredictionsOfModel, narrowed to a segment when the query is about one. */
export const okPredictionsIn = (segmented: boolean, alias = "") => `${okPredictionsOfModel(alias)}${segmented ? ` AND ${segmentFilter(alias)}` : ""}`;

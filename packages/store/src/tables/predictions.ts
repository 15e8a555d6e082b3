import { z } from "zod";
import type { StoreEngine } from "../engine.js";
import { clickHouseFloat, countValue, dateTimeColumn, floatColumn, floatValue, formatDateTime64, queryRows } from "./columns.js";
import { MODEL_SCOPE, type TimeRange, timestampRangeMicros } from "./filters.js";
import { LABELLED_ROWS, LABELS } from "./labels.js";

/** One row per inference request row (migrations/0001_predictions.sql). */
export const PREDICTIONS = "predictions";

/**
 * How a row reached the log (migrations/0011_rollout.sql): answered by the model's primary version,
 * answered by a canary candidate, or a shadow candidate's answer that the client never saw.
 */
export const PREDICTION_ROLES = ["primary", "canary", "shadow"] as const;
export type PredictionRole = (typeof PREDICTION_ROLES)[number];

/** One predictions row as the inference server records it. */
export interface PredictionRecord {
  /** Microseconds since the epoch, when the request arrived. */
  timestampUs: number;
  requestId: string;
  rowIndex: number;
  traceId: string;
  spanId: string;
  modelName: string;
  modelVersion: string;
  /** gRPC status name: OK, INVALID_ARGUMENT, ... */
  status: string;
  error: string;
  latencyUs: number;
  queueUs: number;
  computeUs: number;
  batchSize: number;
  features: number[];
  prediction: string;
  scores: number[];
  confidence: number;
  client: string;
  role: PredictionRole;
}

/** The columns held as text: the same going in and coming out. */
const textColumns = {
  request_id: z.string(),
  trace_id: z.string(),
  span_id: z.string(),
  model_name: z.string(),
  model_version: z.string(),
  status: z.string(),
  error: z.string(),
  prediction: z.string(),
  client: z.string(),
};

export const predictionInsertSchema = z.object({
  ...textColumns,
  timestamp: dateTimeColumn,
  row_index: z.number().int(),
  latency_us: z.number().int(),
  queue_us: z.number().int(),
  compute_us: z.number().int(),
  batch_size: z.number().int(),
  features: z.array(floatColumn),
  scores: z.array(floatColumn),
  confidence: floatColumn,
  role: z.enum(PREDICTION_ROLES),
});
export type PredictionInsert = z.infer<typeof predictionInsertSchema>;

const UINT32_MAX = 0xffffffff;

/** The insert row of a record. Every request passes here, so the schema types the row rather than parsing it. */
export function predictionRow(r: PredictionRecord): PredictionInsert {
  return {
    timestamp: formatDateTime64(r.timestampUs),
    request_id: r.requestId,
    row_index: r.rowIndex,
    trace_id: r.traceId,
    span_id: r.spanId,
    model_name: r.modelName,
    model_version: r.modelVersion,
    status: r.status,
    error: r.error,
    latency_us: Math.min(UINT32_MAX, Math.round(r.latencyUs)),
    queue_us: Math.min(UINT32_MAX, Math.round(r.queueUs)),
    compute_us: Math.min(UINT32_MAX, Math.round(r.computeUs)),
    batch_size: r.batchSize,
    features: r.features.map(clickHouseFloat),
    prediction: r.prediction,
    scores: r.scores.map(clickHouseFloat),
    confidence: clickHouseFloat(r.confidence),
    client: r.client,
    role: r.role,
  };
}

/** A whole row as read back; the time comes as epoch microseconds so no precision is lost to text. */
export const predictionReadSchema = z
  .object({
    ...textColumns,
    timestamp_us: countValue,
    row_index: countValue,
    latency_us: countValue,
    queue_us: countValue,
    compute_us: countValue,
    batch_size: countValue,
    features: z.array(floatValue),
    scores: z.array(floatValue),
    confidence: floatValue,
    role: z.enum(PREDICTION_ROLES),
  })
  .transform(
    (r): PredictionRecord => ({
      timestampUs: r.timestamp_us,
      requestId: r.request_id,
      rowIndex: r.row_index,
      traceId: r.trace_id,
      spanId: r.span_id,
      modelName: r.model_name,
      modelVersion: r.model_version,
      status: r.status,
      error: r.error,
      latencyUs: r.latency_us,
      queueUs: r.queue_us,
      computeUs: r.compute_us,
      batchSize: r.batch_size,
      features: r.features,
      prediction: r.prediction,
      scores: r.scores,
      confidence: r.confidence,
      client: r.client,
      role: r.role,
    }),
  );

const ALL_COLUMNS = `toUnixTimestamp64Micro(timestamp) AS timestamp_us, request_id, row_index, trace_id, span_id, model_name, model_version, status, error,
  latency_us, queue_us, compute_us, batch_size, features, prediction, scores, confidence, client, role`;

/** One prediction row as the client was answered (not a shadow candidate's answer), undefined when the log does not hold it. */
export async function getPrediction(engine: StoreEngine, requestId: string, rowIndex: number): Promise<PredictionRecord | undefined> {
  const [row] = await queryRows(
    engine,
    predictionReadSchema,
    `SELECT ${ALL_COLUMNS} FROM ${PREDICTIONS} WHERE request_id = {request:String} AND row_index = {row:UInt32} AND role != 'shadow' LIMIT 1`,
    { request: requestId, row: rowIndex },
  );
  return row;
}

/** The shadow candidates' answers to one request row (rollouts in shadow mode), oldest version first; empty when it had none. */
export function getShadowPredictions(engine: StoreEngine, requestId: string, rowIndex: number): Promise<PredictionRecord[]> {
  return queryRows(
    engine,
    predictionReadSchema,
    `SELECT ${ALL_COLUMNS} FROM ${PREDICTIONS} WHERE request_id = {request:String} AND row_index = {row:UInt32} AND role = 'shadow' ORDER BY model_version`,
    { request: requestId, row: rowIndex },
  );
}

/** The columns a page of the prediction log shows: the row without its feature, score and timing arrays. */
export type PredictionSummary = Pick<
  PredictionRecord,
  "timestampUs" | "requestId" | "rowIndex" | "modelName" | "modelVersion" | "status" | "error" | "latencyUs" | "prediction" | "confidence" | "traceId" | "role"
>;

const summaryReadSchema = z
  .object({
    timestamp_us: countValue,
    request_id: z.string(),
    row_index: countValue,
    model_name: z.string(),
    model_version: z.string(),
    status: z.string(),
    error: z.string(),
    latency_us: countValue,
    prediction: z.string(),
    confidence: floatValue,
    trace_id: z.string(),
    role: z.enum(PREDICTION_ROLES),
  })
  .transform(
    (r): PredictionSummary => ({
      timestampUs: r.timestamp_us,
      requestId: r.request_id,
      rowIndex: r.row_index,
      modelName: r.model_name,
      modelVersion: r.model_version,
      status: r.status,
      error: r.error,
      latencyUs: r.latency_us,
      prediction: r.prediction,
      confidence: r.confidence,
      traceId: r.trace_id,
      role: r.role,
    }),
  );

/** Each labelled row with its newest label, in the shape of (model_name, request_id, row_index, prediction). */
const NEWEST_LABELS = `SELECT model_name, request_id, row_index, argMax(label, timestamp) FROM ${LABELS} GROUP BY model_name, request_id, row_index`;

export interface PredictionFilter {
  model?: string;
  version?: string;
  /** gRPC status name; ERROR for every status but OK. */
  status?: string;
  requestId?: string;
  hasLabel?: boolean;
  /** Labelled rows only: true for those whose prediction differs from their newest label, false for those that match it. */
  wrong?: boolean;
  fromMs: number;
  toMs: number;
  limit: number;
  /** Keyset cursor: the last row of the previous page. */
  after?: { timestampUs: number; requestId: string; rowIndex: number };
}

/**
 * The prediction log newest first, a page at a time. Paging is by keyset (timestamp, request id,
 * row) rather than offset, so a page costs the same however deep it is and rows arriving
 * meanwhile do not shift it; the table's sort order serves it.
 */
export function listPredictions(engine: StoreEngine, filter: PredictionFilter): Promise<PredictionSummary[]> {
  return queryRows(
    engine,
    summaryReadSchema,
    `SELECT toUnixTimestamp64Micro(timestamp) AS timestamp_us, request_id, row_index, model_name, model_version,
            status, error, latency_us, prediction, confidence, trace_id, role
     FROM ${PREDICTIONS}
     WHERE timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
       AND ${MODEL_SCOPE} AND role != 'shadow'
       AND ({status:String} = '' OR status = {status:String} OR ({status:String} = 'ERROR' AND status != 'OK')) AND ({request:String} = '' OR request_id = {request:String})
       AND ({has_label:Int8} = -1 OR ((model_name, request_id, row_index) IN (${LABELLED_ROWS})) = {has_label:Int8})
       AND ({wrong:Int8} = -1 OR ((model_name, request_id, row_index) IN (${LABELLED_ROWS})
                                  AND ((model_name, request_id, row_index, prediction) IN (${NEWEST_LABELS})) != {wrong:Int8}))
       AND ({cursor:UInt8} = 0 OR (toUnixTimestamp64Micro(timestamp), request_id, row_index) < ({after_us:Int64}, {after_request:String}, {after_row:UInt32}))
     ORDER BY timestamp DESC, request_id DESC, row_index DESC
     LIMIT {limit:UInt32}`,
    {
      from: Math.floor(filter.fromMs),
      to: Math.ceil(filter.toMs),
      model: filter.model ?? "",
      version: filter.version ?? "",
      status: filter.status ?? "",
      request: filter.requestId ?? "",
      has_label: filter.hasLabel === undefined ? -1 : filter.hasLabel ? 1 : 0,
      wrong: filter.wrong === undefined ? -1 : filter.wrong ? 1 : 0,
      cursor: filter.after ? 1 : 0,
      after_us: filter.after?.timestampUs ?? 0,
      after_request: filter.after?.requestId ?? "",
      after_row: filter.after?.rowIndex ?? 0,
      limit: filter.limit,
    },
  );
}

const servedReadSchema = z
  .object({ model: z.string(), version: z.string(), n: countValue })
  .transform((r) => ({ model: r.model, version: r.version, predictions: r.n }));

/** Each (model, version) with OK predictions in a range, and how many. */
export function servedVersions(engine: StoreEngine, range: TimeRange): Promise<Array<{ model: string; version: string; predictions: number }>> {
  return queryRows(
    engine,
    servedReadSchema,
    `SELECT model_name AS model, model_version AS version, count() AS n FROM ${PREDICTIONS}
     WHERE status = 'OK' AND ${timestampRangeMicros()}
     GROUP BY model, version ORDER BY model, version`,
    { from: Math.floor(range.fromUs), to: Math.floor(range.toUs) },
  );
}

const requestModelsReadSchema = z.object({ request_id: z.string(), models: z.array(z.string()) });

/**
 * The models each of these request ids is logged under, for the ids the log holds; the request
 * id's bloom filter index keeps this from reading every part.
 */
export async function modelsOfRequests(engine: StoreEngine, requestIds: string[]): Promise<Map<string, string[]>> {
  if (requestIds.length === 0) return new Map();
  const rows = await queryRows(
    engine,
    requestModelsReadSchema,
    `SELECT request_id, groupUniqArray(model_name) AS models FROM ${PREDICTIONS} WHERE request_id IN {ids:Array(String)} GROUP BY request_id`,
    { ids: [...new Set(requestIds)] },
  );
  return new Map(rows.map((r) => [r.request_id, r.models]));
}

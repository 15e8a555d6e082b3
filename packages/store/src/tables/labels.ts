import { z } from "zod";
import type { StoreEngine } from "../engine.js";
import { countValue, dateTimeColumn, formatDateTime64, queryRows } from "./columns.js";

/** Ground truth per prediction row; a ReplacingMergeTree where the newest label wins (migrations/0001_predictions.sql). */
export const LABELS = "labels";

export interface LabelRecord {
  requestId: string;
  rowIndex: number;
  modelName: string;
  label: string;
  timestampUs: number;
  source: string;
}

export const labelInsertSchema = z.object({
  request_id: z.string(),
  row_index: z.number().int(),
  model_name: z.string(),
  label: z.string(),
  timestamp: dateTimeColumn,
  source: z.string(),
});
export type LabelInsert = z.infer<typeof labelInsertSchema>;

export function labelRow(r: LabelRecord): LabelInsert {
  return {
    request_id: r.requestId,
    row_index: r.rowIndex,
    model_name: r.modelName,
    label: r.label,
    timestamp: formatDateTime64(r.timestampUs),
    source: r.source,
  };
}

/**
 * The (model_name, request_id, row_index) keys that have a label, for `IN` filters over
 * predictions: a label counts only for a prediction of the model it was sent for.
 */
export const LABELLED_ROWS = `SELECT model_name, request_id, row_index FROM ${LABELS}`;

export interface NewestLabel {
  label: string;
  /** When the newest label arrived, microseconds since the epoch. */
  labelledAtUs: number;
}

/** The key newestLabels files a row under: a label counts only for a prediction of its own model. */
export const labelKey = (modelName: string, requestId: string, rowIndex: number) => `${modelName}\u0000${requestId}\u0000${rowIndex}`;

const newestReadSchema = z.object({ model_name: z.string(), request_id: z.string(), row_index: countValue, label: z.string(), labelled_us: countValue });

/**
 * The newest label of every labelled row of these predictions, by labelKey, counting only labels
 * sent for each prediction's model. Read for a page of predictions at a time, so a page does not
 * pay for every label.
 */
export async function newestLabels(engine: StoreEngine, predictions: Array<{ modelName: string; requestId: string }>): Promise<Map<string, NewestLabel>> {
  const found = new Map<string, NewestLabel>();
  if (predictions.length === 0) return found;
  const rows = await queryRows(
    engine,
    newestReadSchema,
    `SELECT model_name, request_id, row_index, argMax(label, timestamp) AS label, toUnixTimestamp64Micro(max(timestamp)) AS labelled_us
     FROM ${LABELS} WHERE request_id IN {ids:Array(String)} AND model_name IN {models:Array(String)} GROUP BY model_name, request_id, row_index`,
    { ids: [...new Set(predictions.map((p) => p.requestId))], models: [...new Set(predictions.map((p) => p.modelName))] },
  );
  for (const r of rows) found.set(labelKey(r.model_name, r.request_id, r.row_index), { label: r.label, labelledAtUs: r.labelled_us });
  return found;
}

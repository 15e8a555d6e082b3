import { LABELS, PREDICTIONS, type StoreEngine, type TimeRange } from "@vigil/store";

/** Reads only tests need, to check what the store holds; the product never asks these. */

export interface LabelledPrediction {
  request_id: string;
  row_index: number;
  prediction: string;
  label: string;
}

/** Predictions of a model joined to their newest label, by request id and row. */
export function labelledPredictions(engine: StoreEngine, model: string, range: TimeRange): Promise<LabelledPrediction[]> {
  return engine.query<LabelledPrediction>(
    `SELECT p.request_id AS request_id, p.row_index AS row_index, p.prediction AS prediction, l.label AS label
     FROM ${PREDICTIONS} AS p
     INNER JOIN (
       SELECT request_id, row_index, argMax(label, timestamp) AS label FROM ${LABELS} GROUP BY request_id, row_index
     ) AS l ON p.request_id = l.request_id AND p.row_index = l.row_index
     WHERE p.model_name = {model:String}
       AND p.timestamp >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')
       AND p.timestamp < fromUnixTimestamp64Micro({to:Int64}, 'UTC')
     ORDER BY p.timestamp, p.request_id, p.row_index`,
    { model, from: Math.floor(range.fromUs), to: Math.floor(range.toUs) },
  );
}

export interface PredictionCount {
  status: string;
  rows: number;
}

/** Rows per status for a model (every model when `model` is empty). */
export async function predictionCounts(engine: StoreEngine, model = ""): Promise<PredictionCount[]> {
  const rows = await engine.query<{ status: string; rows: string }>(
    `SELECT status, count() AS rows FROM ${PREDICTIONS}
     WHERE {model:String} = '' OR model_name = {model:String}
     GROUP BY status ORDER BY status`,
    { model },
  );
  return rows.map((r) => ({ status: r.status, rows: Number(r.rows) }));
}

/** Rows logged more than once for the same request row and role (a shadow row shares its primary's key): each is a duplicated record. */
export async function duplicatedPredictions(engine: StoreEngine): Promise<number> {
  const [row] = await engine.query<{ duplicates: string }>(
    `SELECT count() AS duplicates FROM (SELECT request_id, row_index, role FROM ${PREDICTIONS} GROUP BY request_id, row_index, role HAVING count() > 1)`,
  );
  return Number(row?.duplicates ?? 0);
}

import { LABELS, PREDICTIONS, okPredictionsIn } from "@vigil/store";

/**
 * The predictions of one model in one window joined to their newest label. Parameters: model,
 * version ('' for all), from/to (Int64 microseconds), classes (Array(String)). Columns: label
 * and prediction (strings), y and yhat (0-based class indices, -1 when not a class), scores,
 * delay_s (seconds from prediction to its label), features. `segmented` narrows the rows to the
 * segment in the segment_* parameters.
 *
 * The newest label per row comes from FINAL on the labels table (a ReplacingMergeTree sorted by
 * the row key, so the merge streams instead of hashing every label), and the join key is a
 * 128-bit hash of (request_id, row_index): hashing the strings once beats comparing them in the
 * join by about 3x at 2M rows. A wrong match needs a 128-bit collision, about 10^-24 for ten
 * million rows a side.
 */
export const labelledSql = (segmented: boolean) => `
  SELECT
    l.label AS label,
    p.prediction AS prediction,
    indexOf({classes:Array(String)}, l.label) - 1 AS y,
    indexOf({classes:Array(String)}, p.prediction) - 1 AS yhat,
    arrayMap(x -> toFloat64(x), p.scores) AS scores,
    p.features AS features,
    dateDiff('microsecond', p.timestamp, l.labelled_at) / 1e6 AS delay_s
  FROM ${PREDICTIONS} AS p
  INNER JOIN (
    SELECT murmurHash3_128(request_id, row_index) AS row_key, label, timestamp AS labelled_at
    FROM ${LABELS} FINAL
    WHERE model_name = {model:String}
  ) AS l ON murmurHash3_128(p.request_id, p.row_index) = l.row_key
  WHERE ${okPredictionsIn(segmented, "p.")}`;

/** Rows whose label is a class and whose scores cover every class (also the labelled reference of performance estimation). */
const scored = (segmented: boolean) =>
  `SELECT y, yhat, scores FROM (${labelledSql(segmented)}) WHERE y >= 0 AND length(scores) = length({classes:Array(String)})`;
export const SCORED = scored(false);

/**
 * Everything but ROC AUC in one pass over the labelled rows: counts and sums per (scored, true
 * class, predicted class, confidence bin), plus a global row (grouping id 15) with the label-delay
 * figures. JS derives the confusion matrix, log loss (clipped and renormalised as scikit-learn
 * does), Brier score (last class positive) and expected calibration error (10 equal-width
 * confidence bins, the last one closed at 1.0) from these few rows.
 */
export const cellsSql = (segmented: boolean) => `
  SELECT grouping(scored, y, yhat, bin) AS g, scored, y, yhat, bin, count() AS n,
         sumIf(-log(arrayElement(clipped, y + 1) / arraySum(clipped)), scored) AS log_loss_sum,
         sumIf(pow(arrayElement(scores, length(scores)) - (y = length(scores) - 1), 2), scored) AS brier_sum,
         sumIf(toFloat64(y = yhat), scored) AS correct_sum,
         sumIf(arrayMax(scores), scored) AS confidence_sum,
         avg(delay_s) AS mean_delay_s,
         quantileExact(0.5)(delay_s) AS median_delay_s
  FROM (
    SELECT y, yhat, scores, delay_s,
           y >= 0 AND length(scores) = length({classes:Array(String)}) AS scored,
           if(scored, least(toUInt8(floor(arrayMax(scores) * 10)), 9), 0) AS bin,
           arrayMap(p -> least(greatest(p, {eps:Float64}), 1 - {eps:Float64}), scores) AS clipped
    FROM (${labelledSql(segmented)})
  )
  GROUP BY GROUPING SETS ((scored, y, yhat, bin), ())`;

/** Predictions in the window, the denominator of label coverage (no join). */
export const predictionsInWindowSql = (segmented: boolean) => `SELECT count() AS n FROM ${PREDICTIONS} WHERE ${okPredictionsIn(segmented)}`;

/**
 * One-vs-rest ROC AUC per class as the Mann-Whitney statistic, exact: rows are grouped by score,
 * and each positive counts the negatives below it plus half of those tied with it.
 */
export const rocAucSql = (segmented: boolean) => `
  SELECT c, sum(pos * (neg_below + neg / 2)) / (sum(pos) * sum(neg)) AS auc, sum(pos) AS positives, sum(neg) AS negatives
  FROM (
    SELECT c, s, pos, neg,
           sum(neg) OVER (PARTITION BY c ORDER BY s ASC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS neg_below
    FROM (
      SELECT c, arrayElement(scores, c + 1) AS s, countIf(y = c) AS pos, countIf(y != c) AS neg
      FROM (${scored(segmented)})
      ARRAY JOIN range(length({classes:Array(String)})) AS c
      GROUP BY c, s
    )
  )
  GROUP BY c
  ORDER BY c`;

/**
 * Regression figures over rows whose prediction and label are numbers. R² uses the stable
 * variance; with a constant target it is 1 for a perfect fit and 0 otherwise, as in scikit-learn.
 */
export const regressionSql = (segmented: boolean) => `
  SELECT count() AS n, avg(abs(yhat - y)) AS mae, sqrt(avg(pow(yhat - y, 2))) AS rmse,
         sum(pow(y - yhat, 2)) AS residual, varPopStable(y) * count() AS total,
         avg(delay_s) AS mean_delay_s, quantileExact(0.5)(delay_s) AS median_delay_s
  FROM (
    SELECT toFloat64OrNull(label) AS y, toFloat64OrNull(prediction) AS yhat, delay_s
    FROM (${labelledSql(segmented)})
    WHERE y IS NOT NULL AND yhat IS NOT NULL
  )`;

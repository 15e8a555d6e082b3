import { PREDICTIONS, type ScoreCalibrator, okPredictionsIn } from "@vigil/store";

/**
 * The SQL of confidence-based performance estimation over one window. Each calibrator is a
 * step function passed as two array parameters (`cx<i>` thresholds, `cy<i>` values); the query
 * text only depends on the calibrators' shape (how many classes, how many thresholds each), so
 * it carries no values. Parameters besides those: model, version, from, to, classes (and a
 * segment's when `segmented`).
 */
export function estimationSql(classCount: number, calibrators: ScoreCalibrator[], segmented = false): string {
  const binary = classCount === 2;
  const scoreOf = (i: number) => `arrayElement(scores, ${binary ? 2 : i + 1})`;
  const searched = calibrators.flatMap((c, i) => (c.thresholds.length > 1 ? [{ i, m: c.thresholds.length }] : []));
  const x = (i: number) => `{cx${i}:Array(Float64)}`;
  const y = (i: number) => `{cy${i}:Array(Float64)}`;
  // The count of thresholds below each clipped score, by a binary search unrolled into one
  // subquery per halving: each level reads the previous level's column once (aliases in one
  // SELECT would be expanded into a tree that doubles with every level).
  // Rows are first counted per (predicted class, scores), w of each: the estimate depends on
  // nothing else, so calibration and everything after it run once per distinct pair, weighted.
  let rows = `
    SELECT yhat, scores, w${searched.map(({ i, m }) => `, least(greatest(${scoreOf(i)}, arrayElement(${x(i)}, 1)), arrayElement(${x(i)}, ${m})) AS t${i}, toUInt64(0) AS b${i}_0`).join("")}
    FROM (
      SELECT yhat, arrayMap(v -> toFloat64(v), raw) AS scores, w
      FROM (
        SELECT indexOf({classes:Array(String)}, prediction) - 1 AS yhat, scores AS raw, count() AS w
        FROM ${PREDICTIONS}
        WHERE ${okPredictionsIn(segmented)} AND length(scores) = ${classCount}
        GROUP BY yhat, raw
      )
      WHERE yhat >= 0
    )`;
  let top = 1;
  while (searched.some(({ m }) => top * 2 <= m)) top *= 2;
  let level = 0;
  for (let step = top; step >= 1 && searched.length > 0; step /= 2, level++) {
    const moved = searched.map(({ i, m }) => {
      const b = `b${i}_${level}`;
      return `${b} + if(${b} + ${step} <= ${m} AND arrayElement(${x(i)}, ${b} + ${step}) < t${i}, ${step}, 0) AS b${i}_${level + 1}`;
    });
    rows = `SELECT yhat, scores, w${searched.map(({ i }) => `, t${i}`).join("")}, ${moved.join(", ")} FROM (${rows})`;
  }
  const calibrated = calibrators.map((c, i) => {
    const m = c.thresholds.length;
    if (m === 0) return `${scoreOf(i)} AS r${i}`;
    if (m === 1) return `arrayElement(${y(i)}, 1) AS r${i}`;
    // Linear between the thresholds around the score, term for term as scikit-learn's interp1d.
    const lo = `lo${i}`;
    return `greatest(1, least(b${i}_${level}, ${m - 1})) AS ${lo}, (arrayElement(${y(i)}, ${lo} + 1) - arrayElement(${y(i)}, ${lo})) / (arrayElement(${x(i)}, ${lo} + 1) - arrayElement(${x(i)}, ${lo})) * (t${i} - arrayElement(${x(i)}, ${lo})) + arrayElement(${y(i)}, ${lo}) AS r${i}`;
  });
  const probabilities = binary
    ? "[1 - r0, r0]"
    : `if(total = 0, arrayWithConstant(${classCount}, 1 / ${classCount}), [${calibrators.map((_, i) => `r${i} / total`).join(", ")}])`;
  const total = binary ? "" : `, ${calibrators.map((_, i) => `r${i}`).join(" + ")} AS total`;
  const probable = `SELECT yhat, scores, w, ${calibrated.join(", ")}${total}, ${probabilities} AS q FROM (${rows})`;
  // One group per class and distinct score: the expected confusion cells need only the sums,
  // ROC AUC walks the groups from the highest score down.
  const grouped = `
    SELECT c, arrayElement(scores, c + 1) AS s, sum(w) AS n, sum(w * arrayElement(q, c + 1)) AS q_sum, sumIf(w, yhat = c) AS predicted,
           sumForEach(arrayMap(j -> if(yhat = j, w * arrayElement(q, c + 1), 0.), range(${classCount}))) AS cells
    FROM (${probable})
    ARRAY JOIN range(${classCount}) AS c
    GROUP BY c, s`;
  // One window pass: the point before each group is its cumulative sums less its own (the
  // difference can only move a 5-decimal rounding when a sum sits within 1e-16 of its edge).
  const steps = `
    SELECT c, n, q_sum, predicted, cells,
           sum(q_sum) OVER down AS cq, sum(n) OVER down AS cn,
           round(cq, 5) AS tp, round(cn - cq, 5) AS fp,
           round(cq - q_sum, 5) AS tp_before, round(cn - n - (cq - q_sum), 5) AS fp_before
    FROM (${grouped})
    WINDOW down AS (PARTITION BY c ORDER BY s DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`;
  return `
    SELECT c, sum(n) AS n, sum(q_sum) AS actual, sum(predicted) AS predicted, sumForEach(cells) AS cells,
           sum((fp - fp_before) * (tp + tp_before)) AS twice_area, max(tp) AS tp_total, max(fp) AS fp_total
    FROM (${steps})
    GROUP BY c
    ORDER BY c`;
}

/** The calibrators' array parameters for estimationSql. */
export function calibratorParams(calibrators: ScoreCalibrator[]): Record<string, number[]> {
  return Object.fromEntries(
    calibrators.flatMap((c, i) => [
      [`cx${i}`, c.thresholds],
      [`cy${i}`, c.values],
    ]),
  );
}

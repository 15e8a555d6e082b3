import { PREDICTIONS, type ScoreCalibrator, okPredictionsOfModel } from "@vigil/store";

/**
 * The SQL of confidence-based performance estimation over one window. Each calibrator is a
 * step function passed as two array parameters (`cx<i>` thresholds, `cy<i>` values); the query
 * text only depends on the calibrators' shape (how many classes, how many thresholds each), so
 * it carries no values. Parameters besides those: model, version, from, to, classes.
 */
export function estimationSql(classCount: number, calibrators: ScoreCalibrator[]): string {
  const binary = classCount === 2;
  const lookups = calibrators.map((c, i) => calibratedScore(i, binary ? 2 : i + 1, c.thresholds.length));
  const probabilities = binary ? ["1 - r0", "r0"] : calibrators.map((_, i) => `r${i} / total`);
  const normalised = binary
    ? `[${probabilities.join(", ")}]`
    : `if(total = 0, arrayWithConstant(${classCount}, 1 / ${classCount}), [${probabilities.join(", ")}])`;
  const total = binary ? "" : `, ${calibrators.map((_, i) => `r${i}`).join(" + ")} AS total`;
  const rows = `
    SELECT yhat, scores, ${lookups.map((l) => l.columns).join(", ")}${total}, ${normalised} AS q
    FROM (
      SELECT indexOf({classes:Array(String)}, prediction) - 1 AS yhat, arrayMap(x -> toFloat64(x), scores) AS scores
      FROM ${PREDICTIONS}
      WHERE ${okPredictionsOfModel()} AND length(scores) = ${classCount}
    )
    WHERE yhat >= 0`;
  // One group per class and distinct score: the expected confusion cells need only the sums,
  // ROC AUC walks the groups from the highest score down.
  const grouped = `
    SELECT c, arrayElement(scores, c + 1) AS s, count() AS n, sum(arrayElement(q, c + 1)) AS q_sum, countIf(yhat = c) AS predicted,
           sumForEach(arrayMap(j -> if(yhat = j, arrayElement(q, c + 1), 0.), range(${classCount}))) AS cells
    FROM (${rows})
    ARRAY JOIN range(${classCount}) AS c
    GROUP BY c, s`;
  const cumulative = `
    SELECT c, s, n, q_sum, predicted, cells,
           round(sum(q_sum) OVER down, 5) AS tp, round(sum(n) OVER down - sum(q_sum) OVER down, 5) AS fp
    FROM (${grouped})
    WINDOW down AS (PARTITION BY c ORDER BY s DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`;
  const steps = `
    SELECT c, n, q_sum, predicted, cells, tp, fp,
           lagInFrame(tp, 1, 0.) OVER step AS tp_before, lagInFrame(fp, 1, 0.) OVER step AS fp_before
    FROM (${cumulative})
    WINDOW step AS (PARTITION BY c ORDER BY s DESC ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)`;
  return `
    SELECT c, sum(n) AS n, sum(q_sum) AS actual, sum(predicted) AS predicted, sumForEach(cells) AS cells,
           sum((fp - fp_before) * (tp + tp_before)) AS twice_area, max(tp) AS tp_total, max(fp) AS fp_total
    FROM (${steps})
    GROUP BY c
    ORDER BY c`;
}

/**
 * The calibrated score of one class as columns r<i>: the score clipped to the calibrator's range,
 * the count of thresholds below it by an unrolled binary search (one column per halving, so the
 * cost per row is the logarithm of the thresholds), then linear interpolation between the two
 * thresholds around it, term for term as scikit-learn's interp1d computes it.
 */
function calibratedScore(i: number, scoreColumn: number, thresholdCount: number): { columns: string } {
  const score = `arrayElement(scores, ${scoreColumn})`;
  if (thresholdCount === 0) return { columns: `${score} AS r${i}` };
  const x = `{cx${i}:Array(Float64)}`;
  const y = `{cy${i}:Array(Float64)}`;
  if (thresholdCount === 1) return { columns: `arrayElement(${y}, 1) AS r${i}` };
  const columns = [`least(greatest(${score}, arrayElement(${x}, 1)), arrayElement(${x}, ${thresholdCount})) AS t${i}`];
  let position = "toUInt32(0)";
  let step = 1;
  while (step * 2 <= thresholdCount) step *= 2;
  for (let level = 0; step >= 1; step /= 2, level++) {
    const next = `${position} + ${step}`;
    columns.push(`${position} + if(${next} <= ${thresholdCount} AND arrayElement(${x}, ${next}) < t${i}, ${step}, 0) AS b${i}_${level}`);
    position = `b${i}_${level}`;
  }
  const lo = `lo${i}`;
  columns.push(`greatest(1, least(${position}, ${thresholdCount - 1})) AS ${lo}`);
  columns.push(
    `(arrayElement(${y}, ${lo} + 1) - arrayElement(${y}, ${lo})) / (arrayElement(${x}, ${lo} + 1) - arrayElement(${x}, ${lo})) * (t${i} - arrayElement(${x}, ${lo})) + arrayElement(${y}, ${lo}) AS r${i}`,
  );
  return { columns: columns.join(", ") };
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

import type { SegmentFilter, StoreEngine } from "@vigil/store";
import { cellsSql, predictionsInWindowSql, regressionSql, rocAucSql } from "./quality-sql.js";
import { type Window, windowParams } from "./window.js";

/** scikit-learn's clipping bound for float64 probabilities in log loss. */
export const LOG_LOSS_EPS = 2.220446049250313e-16;

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
}

export interface ClassificationQuality {
  window: Window;
  /** Labelled predictions in the window. */
  rows: number;
  /** null when the window has no labelled predictions. */
  accuracy: number | null;
  classes: string[];
  perClass: Array<ClassScores & { class: string; support: number }>;
  macro: ClassScores;
  micro: ClassScores;
  weighted: ClassScores;
  /** matrix[t][p]: labelled t, predicted p, in `classes` order. */
  confusion: number[][];
  /** One-vs-rest ROC AUC per class; null where the class is absent or is every label. */
  rocAucPerClass: Array<number | null>;
  /** Binary models: AUC of the last class as positive. Multiclass: mean one-vs-rest AUC (null unless every class is defined). */
  rocAuc: number | null;
  logLoss: number | null;
  /** Binary models only. */
  brier: number | null;
  expectedCalibrationError: number | null;
  /** Reliability diagram: per confidence bin (tenths; the last closed at 1), rows, mean confidence and accuracy. */
  calibration: Array<{ lower: number; upper: number; rows: number; meanConfidence: number; accuracy: number }>;
  labelCoverage: LabelCoverage;
}

/** How many of a window's predictions have a usable label, and how long labels took to arrive. */
export interface LabelCoverage {
  predictions: number;
  labelled: number;
  share: number | null;
  meanDelaySeconds: number | null;
  medianDelaySeconds: number | null;
}

function labelCoverage(predictions: number, labelled: number, delay: { mean_delay_s: number; median_delay_s: number } | undefined): LabelCoverage {
  return {
    predictions,
    labelled,
    share: predictions === 0 ? null : labelled / predictions,
    meanDelaySeconds: labelled === 0 || !delay ? null : Number(delay.mean_delay_s),
    medianDelaySeconds: labelled === 0 || !delay ? null : Number(delay.median_delay_s),
  };
}

export interface QualityQuery {
  model: string;
  /** '' for every version. */
  version?: string;
  classes: string[];
  window: Window;
  /** A slice of the rows (an input's category or range, a client); all rows when absent. */
  segment?: SegmentFilter;
}

/** One row of the cellsSql query. */
interface Cell {
  g: number;
  scored: number;
  y: number;
  yhat: number;
  bin: number;
  n: string | number;
  log_loss_sum: number;
  brier_sum: number;
  correct_sum: number;
  confidence_sum: number;
  mean_delay_s: number;
  median_delay_s: number;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
const f1Of = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

export type ConfusionScores = Pick<ClassificationQuality, "rows" | "accuracy" | "classes" | "perClass" | "macro" | "micro" | "weighted" | "confusion">;

/**
 * The figures a confusion matrix determines, with scikit-learn's conventions (a 0/0 precision or
 * recall is 0, macro averages include every configured class). `rows` counts every labelled row,
 * those whose label or prediction is no configured class too (the matrix leaves them out).
 */
export function confusionScores(classes: string[], confusion: number[][], rows: number): ConfusionScores {
  const k = classes.length;
  const tp = classes.map((_, c) => confusion[c]![c]!);
  const support = classes.map((_, c) => confusion[c]!.reduce((a, b) => a + b, 0));
  const predicted = classes.map((_, c) => confusion.reduce((a, row) => a + row[c]!, 0));
  const perClass = classes.map((name, c) => {
    const precision = ratio(tp[c]!, predicted[c]!);
    const recall = ratio(tp[c]!, support[c]!);
    return { class: name, precision, recall, f1: f1Of(precision, recall), support: support[c]! };
  });
  const mean = (pick: (s: ClassScores) => number) => perClass.reduce((a, s) => a + pick(s), 0) / Math.max(1, k);
  const totalSupport = support.reduce((a, b) => a + b, 0);
  const weightedMean = (pick: (s: ClassScores) => number) =>
    ratio(
      perClass.reduce((a, s) => a + pick(s) * s.support, 0),
      totalSupport,
    );
  const correct = tp.reduce((a, b) => a + b, 0);
  const microPrecision = ratio(
    correct,
    predicted.reduce((a, b) => a + b, 0),
  );
  const microRecall = ratio(correct, totalSupport);
  return {
    rows,
    accuracy: rows === 0 ? null : correct / rows,
    classes,
    perClass,
    macro: { precision: mean((s) => s.precision), recall: mean((s) => s.recall), f1: mean((s) => s.f1) },
    micro: { precision: microPrecision, recall: microRecall, f1: f1Of(microPrecision, microRecall) },
    weighted: { precision: weightedMean((s) => s.precision), recall: weightedMean((s) => s.recall), f1: weightedMean((s) => s.f1) },
    confusion,
  };
}

/** Sums per confidence bin (its index, tenths): correct predictions, confidences and rows. */
export type CalibrationSums = Map<number, { correct: number; confidence: number; rows: number }>;

/** Expected calibration error and the reliability diagram from per-bin sums over `scored` scored rows. */
export function calibrationFigures(bins: CalibrationSums, scored: number): Pick<ClassificationQuality, "expectedCalibrationError" | "calibration"> {
  const ece = [...bins.values()].reduce((a, b) => a + Math.abs(b.correct - b.confidence), 0) / Math.max(1, scored);
  return {
    expectedCalibrationError: scored === 0 ? null : ece,
    calibration: [...bins.entries()]
      .sort(([a], [b]) => a - b)
      .map(([b, bin]) => ({ lower: b / 10, upper: (b + 1) / 10, rows: bin.rows, meanConfidence: bin.confidence / bin.rows, accuracy: bin.correct / bin.rows })),
  };
}

/**
 * Classification quality of one model over one window. ClickHouse does every pass over the rows
 * (confusion counts, probability aggregates, rank sums); JS only turns those small results into
 * the figures, with scikit-learn's conventions (a 0/0 precision or recall is 0, macro averages
 * include every configured class).
 */
export async function classificationQuality(engine: StoreEngine, query: QualityQuery): Promise<ClassificationQuality> {
  const { classes, window } = query;
  const segmented = query.segment !== undefined;
  const params = { ...windowParams(query), classes, eps: LOG_LOSS_EPS };
  const [cells, auc, [windowRows]] = await Promise.all([
    engine.query<Cell>(cellsSql(segmented), params),
    engine.query<{ c: number; auc: number | null; positives: string | number; negatives: string | number }>(rocAucSql(segmented), params),
    engine.query<{ n: string | number }>(predictionsInWindowSql(segmented), params),
  ]);

  const k = classes.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const bins: CalibrationSums = new Map();
  let rows = 0;
  let scored = 0;
  let logLossSum = 0;
  let brierSum = 0;
  let global: Cell | undefined;
  for (const cell of cells) {
    if (Number(cell.g) === 15) {
      global = cell;
      continue;
    }
    const n = Number(cell.n);
    rows += n;
    const t = Number(cell.y);
    const p = Number(cell.yhat);
    if (t >= 0 && p >= 0) confusion[t]![p]! += n;
    if (!Number(cell.scored)) continue;
    scored += n;
    logLossSum += cell.log_loss_sum;
    brierSum += cell.brier_sum;
    const bin = bins.get(Number(cell.bin)) ?? { correct: 0, confidence: 0, rows: 0 };
    bin.correct += cell.correct_sum;
    bin.confidence += cell.confidence_sum;
    bin.rows += n;
    bins.set(Number(cell.bin), bin);
  }
  const scores = confusionScores(classes, confusion, rows);

  const perClassAuc = classes.map((_, c) => {
    const row = auc.find((r) => Number(r.c) === c);
    return row && Number(row.positives) > 0 && Number(row.negatives) > 0 ? Number(row.auc) : null;
  });
  const rocAuc = k === 2 ? perClassAuc[1]! : perClassAuc.every((v) => v !== null) ? perClassAuc.reduce<number>((a, v) => a + v!, 0) / k : null;
  const predictions = Number(windowRows?.n ?? 0);
  const labelled = rows;

  return {
    window,
    ...scores,
    rocAucPerClass: perClassAuc,
    rocAuc,
    logLoss: scored === 0 ? null : logLossSum / scored,
    brier: scored === 0 || k !== 2 ? null : brierSum / scored,
    ...calibrationFigures(bins, scored),
    labelCoverage: labelCoverage(predictions, labelled, global),
  };
}

export interface RegressionQuality {
  window: Window;
  /** Labelled predictions whose prediction and label are both numbers. */
  rows: number;
  mae: number | null;
  rmse: number | null;
  r2: number | null;
  labelCoverage: LabelCoverage;
}

/** Regression quality of one model over one window (predictions and labels that parse as numbers). */
export async function regressionQuality(engine: StoreEngine, query: Omit<QualityQuery, "classes">): Promise<RegressionQuality> {
  const segmented = query.segment !== undefined;
  const params = { ...windowParams(query), classes: [] as string[] };
  const [[row], [windowRows]] = await Promise.all([
    engine.query<{ n: string | number; mae: number; rmse: number; residual: number; total: number; mean_delay_s: number; median_delay_s: number }>(
      regressionSql(segmented),
      params,
    ),
    engine.query<{ n: string | number }>(predictionsInWindowSql(segmented), params),
  ]);
  const rows = Number(row?.n ?? 0);
  const coverage = labelCoverage(Number(windowRows?.n ?? 0), rows, row);
  if (!row || rows === 0) return { window: query.window, rows: 0, mae: null, rmse: null, r2: null, labelCoverage: coverage };
  const r2 = row.total === 0 ? (row.residual === 0 ? 1 : 0) : 1 - row.residual / row.total;
  return { window: query.window, rows, mae: row.mae, rmse: row.rmse, r2, labelCoverage: coverage };
}

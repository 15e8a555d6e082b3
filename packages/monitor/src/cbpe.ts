import type { ClassCalibration, ReferenceCalibration, SamplingComponent, ScoreCalibrator } from "@vigil/store";
import { NoDataError } from "./errors.js";

export type { ClassCalibration, ReferenceCalibration, SamplingComponent, ScoreCalibrator } from "@vigil/store";

/** A labelled reference for performance estimation: per row the true class, the predicted class (indices into `classes`) and every class's score. */
export interface CalibrationSample {
  classes: string[];
  labels: number[];
  predictions: number[];
  scores: number[][];
}

/** Folds of the calibration check: each row is calibrated by a calibrator fitted without its fold. */
const CALIBRATION_FOLDS = 10;
/** Bins of the expected calibration error in the check, each holding an equal share of the rows. */
const ECE_BINS = 10;
/** Fewer rows than this give too few per bin to tell calibrated from raw scores. */
const MIN_CHECK_ROWS = 2 * ECE_BINS;
/** NannyML's rule: scores that separate the classes this well are left alone. */
const SEPARATED_AUC = 0.999;
/** scikit-learn's `_make_unique` merges scores closer than float64's resolution. */
const SAME_SCORE = 1e-15;

/**
 * Isotonic regression of 0/1 targets on scores, increasing, as scikit-learn's
 * IsotonicRegression fits it: equal scores pooled into their mean, pool-adjacent-violators on
 * the distinct scores (weighted by their counts), then every point dropped whose value equals
 * both neighbours' (the thresholds it keeps).
 */
export function fitIsotonic(scores: ArrayLike<number>, targets: ArrayLike<number>): ScoreCalibrator {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]! || targets[a]! - targets[b]!);
  const x: number[] = [];
  const y: number[] = [];
  const w: number[] = [];
  let sum = 0;
  let weight = 0;
  let current = scores[order[0]!]!;
  for (const i of order) {
    if (scores[i]! - current >= SAME_SCORE) {
      x.push(current);
      y.push(sum / weight);
      w.push(weight);
      current = scores[i]!;
      sum = 0;
      weight = 0;
    }
    sum += targets[i]!;
    weight += 1;
  }
  x.push(current);
  y.push(sum / weight);
  w.push(weight);
  poolAdjacentViolators(y, w);
  const keep = y.map((v, i) => i === 0 || i === y.length - 1 || v !== y[i - 1] || v !== y[i + 1]);
  return { thresholds: x.filter((_, i) => keep[i]), values: y.filter((_, i) => keep[i]) };
}

/**
 * In-place weighted pool-adjacent-violators in scikit-learn's single-pass form: `end[i]` and
 * `end[j]` link the first and last index of each block, a block is merged forward while it is not
 * below the next, then the scan backs up one block.
 */
function poolAdjacentViolators(y: number[], w: number[]): void {
  const n = y.length;
  const end = Array.from({ length: n }, (_, i) => i);
  let i = 0;
  while (i < n) {
    let k = end[i]! + 1;
    if (k === n) break;
    if (y[i]! < y[k]!) {
      i = k;
      continue;
    }
    let sumWy = w[i]! * y[i]!;
    let sumW = w[i]!;
    for (;;) {
      const previous = y[k]!;
      sumWy += w[k]! * y[k]!;
      sumW += w[k]!;
      k = end[k]! + 1;
      if (k === n || previous < y[k]!) {
        y[i] = sumWy / sumW;
        w[i] = sumW;
        end[i] = k - 1;
        end[k - 1] = i;
        if (i > 0) i = end[i - 1]!;
        break;
      }
    }
  }
  i = 0;
  while (i < n) {
    const k = end[i]! + 1;
    y.fill(y[i]!, i + 1, k);
    i = k;
  }
}

/** A calibrator applied as scikit-learn's predict does: clipped to the fitted range, linear between thresholds. */
export function applyCalibrator(c: ScoreCalibrator, score: number): number {
  const m = c.thresholds.length;
  if (m === 0) return score;
  if (m === 1) return c.values[0]!;
  const t = Math.min(Math.max(score, c.thresholds[0]!), c.thresholds[m - 1]!);
  let below = 0;
  let above = m;
  while (below < above) {
    const mid = (below + above) >> 1;
    if (c.thresholds[mid]! < t) below = mid + 1;
    else above = mid;
  }
  const hi = Math.min(Math.max(below, 1), m - 1);
  const lo = hi - 1;
  const slope = (c.values[hi]! - c.values[lo]!) / (c.thresholds[hi]! - c.thresholds[lo]!);
  return slope * (t - c.thresholds[lo]!) + c.values[lo]!;
}

/** Expected calibration error over equal-count bins of the rows sorted by score (negatives first on a tie, so row order never matters). */
export function expectedCalibrationError(scores: ArrayLike<number>, targets: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]! || targets[a]! - targets[b]!);
  let ece = 0;
  for (let b = 0; b < ECE_BINS; b++) {
    const from = Math.floor((b * n) / ECE_BINS);
    const to = Math.floor(((b + 1) * n) / ECE_BINS);
    let score = 0;
    let target = 0;
    for (let r = from; r < to; r++) {
      score += scores[order[r]!]!;
      target += targets[order[r]!]!;
    }
    if (to > from) ece += ((to - from) / n) * Math.abs(score / (to - from) - target / (to - from));
  }
  return ece;
}

/** ROC AUC of 0/1 targets by their scores (Mann-Whitney, ties counted half); NaN with one class only. */
export function rocAucOf(scores: ArrayLike<number>, targets: ArrayLike<number>): number {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let negativesBelow = 0;
  let pairs = 0;
  let positives = 0;
  for (let r = 0; r < order.length; ) {
    let tiedPositives = 0;
    let tiedNegatives = 0;
    const s = scores[order[r]!]!;
    for (; r < order.length && scores[order[r]!] === s; r++) targets[order[r]!] === 1 ? tiedPositives++ : tiedNegatives++;
    pairs += tiedPositives * (negativesBelow + tiedNegatives / 2);
    negativesBelow += tiedNegatives;
    positives += tiedPositives;
  }
  return positives === 0 || negativesBelow === 0 ? Number.NaN : pairs / (positives * negativesBelow);
}

/**
 * Whether isotonic calibration makes one class's scores better calibrated, and the calibrator
 * fitted on every row when it does. The check: the rows of each target value, by score, are
 * dealt into 10 folds in turn (stratified); each fold is calibrated by a calibrator fitted on the
 * other nine, and the expected calibration error of the pooled out-of-fold scores is compared
 * with that of the raw scores. NannyML makes the same comparison on 10 random stratified splits;
 * a deal by score gives the same answer every run, whatever order the rows come in.
 */
export function calibrateClass(scores: number[], targets: number[]): ClassCalibration {
  const identity = { calibrated: false, thresholds: [], values: [], eceRaw: Number.NaN, eceCalibrated: Number.NaN };
  const positives = targets.reduce((a, b) => a + b, 0);
  if (scores.length < MIN_CHECK_ROWS || positives === 0 || positives === targets.length) return identity;
  if (rocAucOf(scores, targets) > SEPARATED_AUC) return identity;
  const seen = [0, 0];
  const fold = new Array<number>(scores.length);
  const byScore = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  for (const i of byScore) fold[i] = seen[targets[i]!]!++ % CALIBRATION_FOLDS;
  const outOfFold = new Array<number>(scores.length);
  for (let f = 0; f < CALIBRATION_FOLDS; f++) {
    const train = scores.flatMap((_, i) => (fold[i] === f ? [] : [i]));
    const calibrator = fitIsotonic(
      train.map((i) => scores[i]!),
      train.map((i) => targets[i]!),
    );
    for (const [i, g] of fold.entries()) if (g === f) outOfFold[i] = applyCalibrator(calibrator, scores[i]!);
  }
  const eceRaw = expectedCalibrationError(scores, targets);
  const eceCalibrated = expectedCalibrationError(outOfFold, targets);
  if (!(eceRaw > eceCalibrated)) return { ...identity, eceRaw, eceCalibrated };
  return { calibrated: true, ...fitIsotonic(scores, targets), eceRaw, eceCalibrated };
}

/** Population standard deviation (ddof 0); NaN when empty. */
function std(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
}

/**
 * The spread of each figure over the reference rows it depends on, one class against the rest
 * (NannyML's sampling-error components): the standard error of a figure over n rows is then
 * std / sqrt(n · share).
 */
function classComponents(labels: number[], predictions: number[], scores: number[]): ReferenceCalibration["perClass"][number] {
  const n = labels.length;
  const component = (values: number[], rows: number): SamplingComponent => ({ std: std(values), share: rows / n });
  const predicted = labels.flatMap((y, i) => (predictions[i] === 1 ? [y] : []));
  const actual = predictions.flatMap((p, i) => (labels[i] === 1 ? [p] : []));
  const tp = labels.filter((y, i) => y === 1 && predictions[i] === 1).length;
  const relevant = labels.filter((y, i) => y === 1 || predictions[i] === 1).length;
  const fpFn = relevant - tp;
  const scale = relevant / (tp + 0.5 * fpFn);
  const f1 = labels.flatMap((y, i) => (y === 1 || predictions[i] === 1 ? [y === 1 && predictions[i] === 1 ? scale : 0] : []));
  return {
    precision: component(predicted, predicted.length),
    recall: component(actual, actual.length),
    f1: component(f1, relevant),
    rocAuc: rocAucComponent(labels, scores),
  };
}

/**
 * For each positive, the share of negatives scored below it (tied negatives count as below); the
 * class with fewer than half the rows counts as positive, as NannyML flips labels and scores
 * otherwise.
 */
function rocAucComponent(labels: number[], scores: number[]): SamplingComponent {
  const flip = labels.reduce((a, b) => a + b, 0) > labels.length / 2;
  const y = flip ? labels.map((v) => 1 - v) : labels;
  const s = flip ? scores.map((v) => 1 - v) : scores;
  const order = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => s[a]! - s[b]! || y[a]! - y[b]!);
  const positives = y.reduce((a, b) => a + b, 0);
  const negatives = y.length - positives;
  const below: number[] = [];
  for (const [rank, i] of order.entries()) if (y[i] === 1) below.push((rank - below.length) / negatives);
  return { std: negatives === 0 ? Number.NaN : std(below), share: positives / y.length };
}

/**
 * Fits what performance estimation needs from a labelled reference: a calibrator per class
 * (binary models: the positive, last class only) and the sampling-error components.
 */
export function fitCalibration(sample: CalibrationSample): ReferenceCalibration {
  const { classes, labels, predictions, scores } = sample;
  if (labels.length === 0) throw new NoDataError("the calibration reference holds no labelled rows with a score for every class");
  const k = classes.length;
  const oneVsRest = (c: number) => ({ targets: labels.map((y) => (y === c ? 1 : 0)), classScores: scores.map((s) => s[c]!) });
  const calibrated = (k === 2 ? [1] : classes.map((_, c) => c)).map((c) => {
    const { targets, classScores } = oneVsRest(c);
    return calibrateClass(classScores, targets);
  });
  return {
    classes,
    sampleSize: labels.length,
    calibrators: calibrated,
    accuracyStd: std(labels.map((y, i) => (y === predictions[i] ? 1 : 0))),
    perClass: classes.map((_, c) => {
      const { targets, classScores } = oneVsRest(c);
      return classComponents(
        targets,
        predictions.map((p) => (p === c ? 1 : 0)),
        classScores,
      );
    }),
  };
}

/** A calibration that uses every class's scores as they are, with no sampling-error components (for a hand-made check). */
export function identityCalibration(classes: string[]): ReferenceCalibration {
  const none = { std: Number.NaN, share: Number.NaN };
  return {
    classes,
    sampleSize: 0,
    calibrators: (classes.length === 2 ? [1] : classes).map(() => ({
      calibrated: false,
      thresholds: [],
      values: [],
      eceRaw: Number.NaN,
      eceCalibrated: Number.NaN,
    })),
    accuracyStd: Number.NaN,
    perClass: classes.map(() => ({ precision: none, recall: none, f1: none, rocAuc: none })),
  };
}

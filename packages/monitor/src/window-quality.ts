import type { MonitorResult } from "@vigil/store";
import { type CalibrationSums, type ClassificationQuality, type ConfusionScores, calibrationFigures, confusionScores } from "./quality.js";
import type { Window } from "./window.js";

/** Classification quality over a run of monitor windows, combined from what the monitor stored for each. */
export interface WindowedClassificationQuality
  extends ConfusionScores,
    Pick<ClassificationQuality, "logLoss" | "brier" | "expectedCalibrationError" | "calibration"> {
  /** From the first window's start to the last window's end; null when no window was stored. */
  span: Window | null;
  /** Windows combined, a version's window counting once per version. */
  windows: number;
  /**
   * The windows' ROC AUC weighted by their labelled rows: AUC ranks every row against every
   * other, so it does not add over windows, and this mean only approximates the range's.
   */
  rocAucWindowMean: number | null;
}

interface StoredBin {
  lower: number;
  rows: number;
  meanConfidence: number;
  accuracy: number;
}

const isBin = (b: unknown): b is StoredBin =>
  typeof b === "object" && b !== null && ["lower", "rows", "meanConfidence", "accuracy"].every((k) => typeof (b as Record<string, unknown>)[k] === "number");

/** One version's window: with every version in scope, versions share windows but not rows. */
const windowKey = (r: MonitorResult) => `${r.version}:${r.window.fromUs}:${r.window.toUs}`;

/**
 * Sums the stored per-window quality results (kind quality) of one model into the figures of the
 * rows of all those windows: the confusion matrices add, and the per-class and averaged figures
 * are derived from the sum as classificationQuality derives them; calibration bins add by their
 * rows; log loss and Brier score are means over scored rows, so they combine weighted by each
 * window's scored rows (its calibration bins' rows). Cells of a class the model no longer lists
 * are left out, as classificationQuality leaves out labels outside its classes.
 */
export function windowedClassificationQuality(results: MonitorResult[], classes: string[]): WindowedClassificationQuality {
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const confusion = classes.map(() => new Array<number>(classes.length).fill(0));
  const bins: CalibrationSums = new Map();
  const scoredByWindow = new Map<string, number>();
  const labelledByWindow = new Map<string, number>();
  const windows = new Map<string, Window>();
  let rows = 0;
  let scored = 0;
  for (const r of results) {
    windows.set(windowKey(r), r.window);
    if (r.metric === "confusion_matrix" && r.feature === "") {
      rows += r.value;
      labelledByWindow.set(windowKey(r), r.value);
      const stored = r.details as { classes?: unknown; matrix?: unknown };
      const storedClasses = Array.isArray(stored.classes) ? stored.classes : [];
      const matrix = Array.isArray(stored.matrix) ? (stored.matrix as unknown[]) : [];
      matrix.forEach((row, t) => {
        const ti = classIndex.get(String(storedClasses[t]));
        if (ti === undefined || !Array.isArray(row)) return;
        row.forEach((n, p) => {
          const pi = classIndex.get(String(storedClasses[p]));
          if (pi !== undefined) confusion[ti]![pi]! += Number(n);
        });
      });
    } else if (r.metric === "expected_calibration_error" && r.feature === "") {
      const storedBins = Array.isArray(r.details.bins) ? r.details.bins.filter(isBin) : [];
      let windowScored = 0;
      for (const b of storedBins) {
        const index = Math.round(b.lower * 10);
        const sums = bins.get(index) ?? { correct: 0, confidence: 0, rows: 0 };
        sums.correct += b.accuracy * b.rows;
        sums.confidence += b.meanConfidence * b.rows;
        sums.rows += b.rows;
        bins.set(index, sums);
        windowScored += b.rows;
      }
      scoredByWindow.set(windowKey(r), windowScored);
      scored += windowScored;
    }
  }

  /** The mean of one stored figure over the windows holding it, each weighted by `weight` of that window. */
  const weightedMean = (metric: string, weight: (r: MonitorResult) => number) => {
    let sum = 0;
    let total = 0;
    for (const r of results) {
      if (r.metric !== metric || r.feature !== "") continue;
      sum += r.value * weight(r);
      total += weight(r);
    }
    return total === 0 ? null : sum / total;
  };
  const scoredRows = (r: MonitorResult) => scoredByWindow.get(windowKey(r)) ?? 0;
  const labelledRows = (r: MonitorResult) => labelledByWindow.get(windowKey(r)) ?? 0;

  const spans = [...windows.values()];
  return {
    span: spans.length === 0 ? null : { fromUs: Math.min(...spans.map((w) => w.fromUs)), toUs: Math.max(...spans.map((w) => w.toUs)) },
    windows: spans.length,
    ...confusionScores(classes, confusion, rows),
    rocAucWindowMean: weightedMean("roc_auc", labelledRows),
    logLoss: weightedMean("log_loss", scoredRows),
    brier: weightedMean("brier", scoredRows),
    ...calibrationFigures(bins, scored),
  };
}

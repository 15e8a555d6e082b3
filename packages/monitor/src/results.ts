import type { MonitorResult } from "@vigil/store";
import type { ClassificationQuality, LabelCoverage, RegressionQuality } from "./quality.js";
import type { Window } from "./window.js";

export type { MonitorResult } from "@vigil/store";

type ResultRow = (metric: string, value: number | null, feature?: string, details?: Record<string, unknown>) => MonitorResult[];

/** A result-row maker for one window of one model version: a null value makes no row. */
function rowsOf(window: Window, model: string, version: string): ResultRow {
  return (metric, value, feature = "", details = {}) =>
    value === null ? [] : [{ window, model, version, kind: "quality", metric, feature, value, threshold: Number.NaN, breached: false, details }];
}

function coverageResults(row: ResultRow, coverage: LabelCoverage): MonitorResult[] {
  return [
    ...row("label_coverage", coverage.share, "", { predictions: coverage.predictions, labelled: coverage.labelled }),
    ...row("label_delay_seconds", coverage.meanDelaySeconds, "", { median: coverage.medianDelaySeconds }),
  ];
}

/** The figures of a classification quality computation as result rows; undefined figures (an empty window) are left out. */
export function qualityResults(q: ClassificationQuality, model: string, version: string): MonitorResult[] {
  const row = rowsOf(q.window, model, version);
  const averages = (["macro", "micro", "weighted"] as const).flatMap((average) => [
    ...row(`f1_${average}`, q.rows === 0 ? null : q[average].f1),
    ...row(`precision_${average}`, q.rows === 0 ? null : q[average].precision),
    ...row(`recall_${average}`, q.rows === 0 ? null : q[average].recall),
  ]);
  return [
    ...row("accuracy", q.accuracy, "", { rows: q.rows }),
    ...averages,
    ...row("roc_auc", q.rocAuc),
    ...row("log_loss", q.logLoss),
    ...row("brier", q.brier),
    ...row("expected_calibration_error", q.expectedCalibrationError, "", { bins: q.calibration }),
    ...coverageResults(row, q.labelCoverage),
    ...(q.rows === 0
      ? []
      : q.perClass.flatMap((c, i) => [
          ...row("precision", c.precision, c.class, { support: c.support }),
          ...row("recall", c.recall, c.class, { support: c.support }),
          ...row("f1", c.f1, c.class, { support: c.support }),
          ...row("roc_auc_ovr", q.rocAucPerClass[i] ?? null, c.class, { support: c.support }),
        ])),
    ...row("confusion_matrix", q.rows === 0 ? null : q.rows, "", { classes: q.classes, matrix: q.confusion }),
  ];
}

/** The same for a regression model. */
export function regressionResults(q: RegressionQuality, model: string, version: string): MonitorResult[] {
  const row = rowsOf(q.window, model, version);
  return [
    ...row("mae", q.mae, "", { rows: q.rows }),
    ...row("rmse", q.rmse, "", { rows: q.rows }),
    ...row("r2", q.r2, "", { rows: q.rows }),
    ...coverageResults(row, q.labelCoverage),
  ];
}

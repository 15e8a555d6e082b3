import type { MonitorResult } from "@vigil/store";
import type { ClassificationQuality } from "./quality.js";

export type { MonitorResult } from "@vigil/store";

/** The figures of a quality computation as result rows; undefined figures (an empty window) are left out. */
export function qualityResults(q: ClassificationQuality, model: string, version: string): MonitorResult[] {
  const row = (metric: string, value: number | null, feature = "", details: Record<string, unknown> = {}): MonitorResult[] =>
    value === null ? [] : [{ window: q.window, model, version, kind: "quality", metric, feature, value, threshold: Number.NaN, breached: false, details }];
  return [
    ...row("accuracy", q.accuracy, "", { rows: q.rows }),
    ...row("f1_macro", q.rows === 0 ? null : q.macro.f1),
    ...row("f1_micro", q.rows === 0 ? null : q.micro.f1),
    ...row("f1_weighted", q.rows === 0 ? null : q.weighted.f1),
    ...row("roc_auc", q.rocAuc),
    ...row("log_loss", q.logLoss),
    ...row("brier", q.brier),
    ...row("expected_calibration_error", q.expectedCalibrationError),
    ...row("label_coverage", q.labelCoverage.share, "", { predictions: q.labelCoverage.predictions, labelled: q.labelCoverage.labelled }),
    ...row("label_delay_seconds", q.labelCoverage.meanDelaySeconds, "", { median: q.labelCoverage.medianDelaySeconds }),
    ...(q.rows === 0
      ? []
      : q.perClass.flatMap((c) => [
          ...row("precision", c.precision, c.class, { support: c.support }),
          ...row("recall", c.recall, c.class, { support: c.support }),
          ...row("f1", c.f1, c.class, { support: c.support }),
        ])),
    ...row("confusion_matrix", q.rows === 0 ? null : q.rows, "", { classes: q.classes, matrix: q.confusion }),
  ];
}

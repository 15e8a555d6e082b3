import { type StoreEngine, clickHouseFloat, formatDateTime64 } from "@vigil/store";
import type { ClassificationQuality } from "./quality.js";
import type { Window } from "./window.js";

/** One row of `monitor_results`. */
export interface MonitorResult {
  window: Window;
  model: string;
  version: string;
  kind: "quality" | "drift" | "slo";
  metric: string;
  /** '' for model-level figures; a feature or class name otherwise. */
  feature: string;
  value: number;
  /** NaN when the figure has no threshold. */
  threshold: number;
  breached: boolean;
  details: Record<string, unknown>;
}

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

/**
 * Writes results. The table is a ReplacingMergeTree keyed by model, version, kind, metric,
 * feature and window, versioned by computed_at: computing a window again replaces its rows.
 */
export async function saveResults(engine: StoreEngine, results: MonitorResult[], computedAtUs = Date.now() * 1000): Promise<void> {
  if (results.length === 0) return;
  const ms = (us: number) => formatDateTime64(us).slice(0, 23);
  const lines = results.map((r) =>
    JSON.stringify({
      window_start: ms(r.window.fromUs),
      window_end: ms(r.window.toUs),
      model_name: r.model,
      model_version: r.version,
      kind: r.kind,
      metric: r.metric,
      feature: r.feature,
      value: clickHouseFloat(r.value),
      threshold: clickHouseFloat(r.threshold),
      breached: r.breached ? 1 : 0,
      details: JSON.stringify(r.details),
      computed_at: ms(computedAtUs),
    }),
  );
  await engine.insertJsonLines("monitor_results", Buffer.from(`${lines.join("\n")}\n`));
}

import type { MonitorResult, ReferenceCalibration, SamplingComponent, SegmentFilter, StoreEngine } from "@vigil/store";
import { calibratorParams, estimationSql } from "./cbpe-sql.js";
import { type Window, windowParams } from "./window.js";

/** NannyML's band: estimate ± 3 standard errors (about 99.7% under a normal sampling distribution). */
export const SAMPLING_ERROR_RANGE = 3;
/** NannyML widens the macro ROC AUC's standard error of a multiclass model by this factor (an empirical correction). */
const MULTICLASS_AUC_SE_FACTOR = 1.2;

export interface EstimatedFigure {
  value: number;
  /** One standard error at this window's size, from the reference's components; null when the reference lacks the rows it needs. */
  samplingError: number | null;
}

export interface PerformanceEstimate {
  window: Window;
  /** Predictions in the window with a class prediction and a score for every class. */
  rows: number;
  classes: string[];
  accuracy: EstimatedFigure;
  perClass: Array<{ class: string; precision: EstimatedFigure; recall: EstimatedFigure; f1: EstimatedFigure; rocAuc: EstimatedFigure | null }>;
  macro: { precision: EstimatedFigure; recall: EstimatedFigure; f1: EstimatedFigure };
  /** Binary: the positive (last) class's. Multiclass: the macro mean, null unless every class has one. */
  rocAuc: EstimatedFigure | null;
  /** Expected counts, matrix[t][p]: labelled t, predicted p. */
  confusion: number[][];
}

export interface EstimationQuery {
  model: string;
  /** '' for every version. */
  version?: string;
  window: Window;
  calibration: ReferenceCalibration;
  /** A slice of the rows; all rows when absent. */
  segment?: SegmentFilter;
}

interface ClassRow {
  c: number;
  n: string | number;
  actual: number;
  predicted: string | number;
  cells: number[];
  twice_area: number;
  tp_total: number;
  fp_total: number;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

/** The standard error of a one-vs-rest figure over n rows. */
const standardError = (c: SamplingComponent, n: number) => {
  const se = c.std / Math.sqrt(n * c.share);
  return Number.isFinite(se) ? se : null;
};

/** The standard error of a mean over classes, their errors taken as independent (NannyML's multiclass rule). */
function macroError(components: SamplingComponent[], n: number): number | null {
  const se = Math.sqrt(components.reduce((a, c) => a + c.std ** 2 / (n * c.share), 0)) / components.length;
  return Number.isFinite(se) ? se : null;
}

/**
 * Confidence-based performance estimation of a classifier over one window, from its scores
 * alone: ClickHouse calibrates each row's scores with the reference's calibrators and sums the
 * expected confusion cells and the ROC curve's steps in one query; JS turns the K result rows
 * into the figures and their standard errors.
 */
export async function estimatePerformance(engine: StoreEngine, query: EstimationQuery): Promise<PerformanceEstimate> {
  const { calibration, window } = query;
  const { classes } = calibration;
  const k = classes.length;
  const rows = await engine.query<ClassRow>(estimationSql(k, calibration.calibrators, query.segment !== undefined), {
    ...windowParams(query),
    classes,
    ...calibratorParams(calibration.calibrators),
  });
  const byClass = classes.map((_, c) => rows.find((r) => Number(r.c) === c));
  const n = Number(byClass[0]?.n ?? 0);
  const confusion = classes.map((_, t) => classes.map((__, p) => byClass[t]?.cells[p] ?? 0));
  const figure = (value: number, samplingError: number | null): EstimatedFigure => ({ value, samplingError });
  const perClass = classes.map((name, c) => {
    const row = byClass[c];
    const tp = confusion[c]![c]!;
    const fp = Number(row?.predicted ?? 0) - tp;
    const fn = (row?.actual ?? 0) - tp;
    const components = calibration.perClass[c]!;
    const auc = row && row.tp_total > 0 && row.fp_total > 0 ? row.twice_area / (2 * row.tp_total * row.fp_total) : null;
    return {
      class: name,
      precision: figure(ratio(tp, tp + fp), standardError(components.precision, n)),
      recall: figure(ratio(tp, tp + fn), standardError(components.recall, n)),
      f1: figure(ratio(tp, tp + 0.5 * (fp + fn)), standardError(components.f1, n)),
      rocAuc: auc === null ? null : figure(auc, standardError(components.rocAuc, n)),
    };
  });
  const macro = (pick: "precision" | "recall" | "f1") =>
    figure(
      perClass.reduce((a, c) => a + c[pick].value, 0) / k,
      macroError(
        calibration.perClass.map((c) => c[pick]),
        n,
      ),
    );
  const aucs = perClass.map((c) => c.rocAuc);
  const macroAucError = macroError(
    calibration.perClass.map((c) => c.rocAuc),
    n,
  );
  const rocAuc =
    k === 2
      ? aucs[1]!
      : aucs.every((a) => a !== null)
        ? figure(aucs.reduce((a, v) => a + v!.value, 0) / k, macroAucError === null ? null : MULTICLASS_AUC_SE_FACTOR * macroAucError)
        : null;
  const correct = classes.reduce((a, _, c) => a + confusion[c]![c]!, 0);
  return {
    window,
    rows: n,
    classes,
    accuracy: figure(ratio(correct, n), standardError({ std: calibration.accuracyStd, share: 1 }, n)),
    perClass,
    macro: { precision: macro("precision"), recall: macro("recall"), f1: macro("f1") },
    rocAuc,
    confusion,
  };
}

/** An estimated figure as a result row: its standard error and NannyML's ±3 SE band (clipped to [0, 1]) in details. */
function estimatedRow(window: Window, model: string, version: string, rows: number) {
  return (metric: string, f: EstimatedFigure | null, feature = ""): MonitorResult[] => {
    if (f === null) return [];
    const se = f.samplingError;
    const band = se === null ? {} : { lower: Math.max(0, f.value - SAMPLING_ERROR_RANGE * se), upper: Math.min(1, f.value + SAMPLING_ERROR_RANGE * se) };
    return [
      {
        window,
        model,
        version,
        kind: "estimated",
        metric,
        feature,
        value: f.value,
        threshold: Number.NaN,
        breached: false,
        details: { sampling_error: se, ...band, rows },
      },
    ];
  };
}

/**
 * An estimate as result rows of kind "estimated", named as their realized counterparts
 * (accuracy, precision_macro, ..., per class precision, recall, f1, roc_auc_ovr); none for an
 * empty window.
 */
export function estimationResults(e: PerformanceEstimate, model: string, version: string): MonitorResult[] {
  if (e.rows === 0) return [];
  const row = estimatedRow(e.window, model, version, e.rows);
  return [
    ...row("accuracy", e.accuracy),
    ...row("precision_macro", e.macro.precision),
    ...row("recall_macro", e.macro.recall),
    ...row("f1_macro", e.macro.f1),
    ...row("roc_auc", e.rocAuc),
    ...e.perClass.flatMap((c) => [
      ...row("precision", c.precision, c.class),
      ...row("recall", c.recall, c.class),
      ...row("f1", c.f1, c.class),
      ...row("roc_auc_ovr", c.rocAuc, c.class),
    ]),
    {
      window: e.window,
      model,
      version,
      kind: "estimated",
      metric: "confusion_matrix",
      feature: "",
      value: e.rows,
      threshold: Number.NaN,
      breached: false,
      details: { classes: e.classes, matrix: e.confusion },
    },
  ];
}

/** Suffix of the rows holding the estimator's own error (estimated − realized). */
export const ESTIMATION_ERROR_SUFFIX = "_error";

/**
 * The estimator's error in a window, estimated − realized, for every estimated figure whose
 * realized counterpart the window has (so only once labels arrived): rows of kind "estimated"
 * named `<metric>_error`. The realized figure covers the labelled rows only; details keep both
 * figures and the labelled count.
 */
export function estimationErrors(estimated: MonitorResult[], realized: MonitorResult[]): MonitorResult[] {
  const labelled = realized.find((r) => r.metric === "accuracy" && r.feature === "")?.details.rows;
  return estimated.flatMap((e) => {
    if (e.metric === "confusion_matrix") return [];
    const truth = realized.find((r) => r.kind === "quality" && r.metric === e.metric && r.feature === e.feature);
    if (!truth || !Number.isFinite(truth.value)) return [];
    return [
      {
        ...e,
        metric: `${e.metric}${ESTIMATION_ERROR_SUFFIX}`,
        value: e.value - truth.value,
        details: { estimated: e.value, realized: truth.value, sampling_error: e.details.sampling_error, labelled },
      },
    ];
  });
}

import type { SegmentFilter, StoreEngine } from "@vigil/store";
import { type MonitoredModel, evaluateWindow } from "./job.js";
import type { ClassificationQuality } from "./quality.js";
import type { AccuracyChange } from "./segments.js";
import type { MonitorResult } from "./results.js";
import { type Window, windows } from "./window.js";
import { InvalidRequestError } from "./errors.js";

export type ReportKind = "quality" | "drift" | "data_quality";

export interface ReportWindow {
  window: { from: string; to: string };
  results: MonitorResult[];
}

/** Evaluates a model over consecutive windows of [fromMs, toMs) (one window when windowMs is absent), reporting progress per window. */
export async function buildReport(
  engine: StoreEngine,
  model: MonitoredModel,
  kind: ReportKind,
  range: { fromMs: number; toMs: number; windowMs?: number },
  onProgress: (done: number, total: number) => void = () => {},
  segment?: SegmentFilter,
): Promise<ReportWindow[]> {
  if (!(range.toMs > range.fromMs))
    throw new InvalidRequestError(
      `the report's end (${new Date(range.toMs).toISOString()}) must come after its start (${new Date(range.fromMs).toISOString()})`,
    );
  const size = range.windowMs ?? range.toMs - range.fromMs;
  // Split windows start on multiples of their length, as the monitor's own windows do, so the two line up.
  const start = range.windowMs ? Math.floor(range.fromMs / size) * size : range.fromMs;
  const spans: Window[] = windows(start * 1000, range.toMs * 1000, size * 1000);
  if (spans.length === 0) throw new InvalidRequestError(`the range is shorter than one window (${size} ms)`);
  const subject = kind === "quality" ? { ...model, features: [], profiles: [], reconstruction: undefined } : model;
  const out: ReportWindow[] = [];
  for (const [i, span] of spans.entries()) {
    const results = (await evaluateWindow(engine, subject, span, segment)).filter((r) => r.kind === kind);
    out.push({ window: { from: new Date(span.fromUs / 1000).toISOString(), to: new Date(span.toUs / 1000).toISOString() }, results });
    onProgress(i + 1, spans.length);
  }
  return out;
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((r) => /^-?[\d.,%]+$|^-$/.test(r[c] ?? "")));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const figure = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "-" : Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4));

const when = (iso: string) => iso.replace("T", " ").replace(/(:\d\d)\.000Z$|Z$/, "$1");
const span = (w: ReportWindow) => `${when(w.window.from)} .. ${when(w.window.to)}`;

const CLASSIFICATION_HEADLINE = ["accuracy", "f1_macro", "roc_auc", "log_loss", "brier", "expected_calibration_error"] as const;
const REGRESSION_HEADLINE = ["mae", "rmse", "r2"] as const;
const AVERAGES = ["macro", "micro", "weighted"] as const;

const seconds = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "-" : `${figure(v)} s`);

function qualityText(report: ReportWindow[]): string {
  const value = (w: ReportWindow, metric: string, feature = "") => w.results.find((r) => r.metric === metric && r.feature === feature);
  const regression = report.some((w) => value(w, "mae"));
  const headline = regression ? REGRESSION_HEADLINE : CLASSIFICATION_HEADLINE;
  const rows = report.map((w) => [
    span(w),
    String(value(w, "label_coverage")?.details.predictions ?? 0),
    String(value(w, headline[0])?.details.rows ?? 0),
    ...headline.map((m) => figure(value(w, m)?.value)),
    figure(value(w, "label_coverage")?.value),
    seconds(value(w, "label_delay_seconds")?.value),
  ]);
  const parts = [formatTable(["window", "predictions", "labelled", ...headline, "label_coverage", "label_delay"], rows)];
  const last = report.at(-1)!;
  const perClass = [...new Set(last.results.filter((r) => r.metric === "precision").map((r) => r.feature))];
  if (report.length === 1 && perClass.length > 0) {
    parts.push(
      formatTable(
        ["average", "precision", "recall", "f1"],
        AVERAGES.map((a) => [
          a,
          figure(value(last, `precision_${a}`)?.value),
          figure(value(last, `recall_${a}`)?.value),
          figure(value(last, `f1_${a}`)?.value),
        ]),
      ),
      formatTable(
        ["class", "precision", "recall", "f1", "roc_auc (one vs rest)", "support"],
        perClass.map((c) => [
          c,
          figure(value(last, "precision", c)?.value),
          figure(value(last, "recall", c)?.value),
          figure(value(last, "f1", c)?.value),
          figure(value(last, "roc_auc_ovr", c)?.value),
          String(value(last, "precision", c)?.details.support ?? ""),
        ]),
      ),
    );
    const bins = value(last, "expected_calibration_error")?.details.bins as ClassificationQuality["calibration"] | undefined;
    if (bins && bins.length > 0) {
      parts.push(
        `calibration (confidence of the predicted class, in tenths)\n${formatTable(
          ["confidence", "rows", "mean confidence", "accuracy"],
          bins.map((b) => [`${b.lower.toFixed(1)}-${b.upper.toFixed(1)}`, String(b.rows), figure(b.meanConfidence), figure(b.accuracy)]),
        )}`,
      );
    }
    const confusion = value(last, "confusion_matrix")?.details as { classes: string[]; matrix: number[][] } | undefined;
    if (confusion) {
      parts.push(
        `confusion matrix (rows: label, columns: prediction)\n${formatTable(
          ["", ...confusion.classes],
          confusion.matrix.map((row, t) => [confusion.classes[t]!, ...row.map(String)]),
        )}`,
      );
    }
  }
  return parts.join("\n\n");
}

function driftText(report: ReportWindow[]): string {
  const judged = report.filter((w) => w.results.some((r) => r.feature !== ""));
  const blocks = judged.map((w) => {
    const features = w.results.filter((r) => r.feature !== "");
    const dataset = w.results.find((r) => r.metric === "dataset_drift_share");
    const rows = features.map((r) => [
      r.feature,
      r.metric,
      figure(r.value),
      figure(r.threshold),
      r.breached ? "DRIFT" : "ok",
      figure(r.details.psi as number),
      figure(r.details.jensen_shannon as number),
      String(r.details.current_rows ?? ""),
    ]);
    const header = `${span(w)}: dataset drift share ${dataset ? figure(dataset.value) : "-"}${dataset?.breached ? " (DATASET DRIFT)" : ""}`;
    return `${header}\n${formatTable(["input", "method", "score", "threshold", "verdict", "psi", "js", "rows"], rows)}`;
  });
  const empty = report.length - judged.length;
  if (empty > 0) blocks.push(judged.length === 0 ? "no traffic in the range" : `(${empty} of ${report.length} windows had no traffic)`);
  return blocks.join("\n\n");
}

const share = (v: number | undefined) => (v === undefined ? "-" : `${(100 * v).toFixed(2)}%`);

function dataQualityText(report: ReportWindow[]): string {
  const blocks = report.map((w) => {
    const of = (metric: string, feature: string) => w.results.find((r) => r.metric === metric && r.feature === feature);
    const inputs = [...new Set(w.results.filter((r) => r.metric === "missing_share").map((r) => r.feature))];
    const refused = of("refused_share", "");
    const reasons = w.results.filter((r) => r.metric === "refused_share_by_reason").map((r) => `${r.feature} ${share(r.value)}`);
    const header = `${span(w)}: ${refused ? `${share(refused.value)} of ${String(refused.details.rows)} requests refused${reasons.length > 0 ? ` (${reasons.join(", ")})` : ""}` : "no requests"}`;
    if (inputs.length === 0) return header;
    const rows = inputs.map((f) => [
      f,
      String(of("missing_share", f)?.details.rows ?? ""),
      share(of("missing_share", f)?.value),
      share(of("out_of_range_share", f)?.value),
      share(of("unseen_category_share", f)?.value),
    ]);
    return `${header}\n${formatTable(["input", "rows", "missing", "out of range", "unseen categories"], rows)}`;
  });
  return blocks.join("\n\n");
}

/** The report as a readable text (tables). */
export function formatReport(kind: ReportKind, model: MonitoredModel, report: ReportWindow[], segment?: string): string {
  const title = `${kind} of model ${model.name}${model.version ? ` version ${model.version}` : " (all versions)"}${segment ? `, segment ${segment}` : ""}`;
  const text = kind === "quality" ? qualityText(report) : kind === "drift" ? driftText(report) : dataQualityText(report);
  return `${title}\n\n${text}\n`;
}

/** The categories that explain a change in accuracy, as a table: the most negative contributions first. */
export function formatAccuracyChange(change: AccuracyChange, limit = 15): string {
  const pct = (v: number | null) => (v === null ? "-" : `${(100 * v).toFixed(1)}%`);
  const points = (v: number) => `${v >= 0 ? "+" : ""}${(100 * v).toFixed(2)}`;
  const delta = change.current.accuracy !== null && change.baseline.accuracy !== null ? change.current.accuracy - change.baseline.accuracy : null;
  const header = `accuracy ${pct(change.baseline.accuracy)} on ${change.baseline.rows} labelled rows, then ${pct(change.current.accuracy)} on ${change.current.rows}${delta === null ? "" : ` (${points(delta)} points)`}`;
  const rows = change.categories
    .slice(0, limit)
    .map((c) => [
      c.input,
      c.category,
      String(c.baseline.rows),
      pct(c.baseline.accuracy),
      String(c.current.rows),
      pct(c.current.accuracy),
      points(c.contribution),
      points(c.performance),
      points(c.mix),
    ]);
  return `${header}\n\n${formatTable(["input", "category", "rows before", "accuracy before", "rows after", "accuracy after", "points", "of which accuracy", "of which mix"], rows)}`;
}

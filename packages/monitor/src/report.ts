import type { StoreEngine } from "@vigil/store";
import { type MonitoredModel, evaluateWindow } from "./job.js";
import type { MonitorResult } from "./results.js";
import { type Window, windows } from "./window.js";
import { InvalidRequestError } from "./errors.js";

export type ReportKind = "quality" | "drift";

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
  const subject = kind === "quality" ? { ...model, features: [], profiles: [] } : model;
  const out: ReportWindow[] = [];
  for (const [i, span] of spans.entries()) {
    const results = (await evaluateWindow(engine, subject, span)).filter((r) => r.kind === kind);
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

const HEADLINE = ["accuracy", "f1_macro", "roc_auc", "log_loss", "brier", "expected_calibration_error", "label_coverage"] as const;

function qualityText(report: ReportWindow[]): string {
  const value = (w: ReportWindow, metric: string) => w.results.find((r) => r.metric === metric && r.feature === "");
  const rows = report.map((w) => [
    span(w),
    String(value(w, "accuracy")?.details.rows ?? value(w, "mae")?.details.rows ?? 0),
    ...(value(w, "mae") ? ["mae", "rmse", "r2"] : HEADLINE).map((m) => figure(value(w, m)?.value)),
  ]);
  const regression = report.some((w) => value(w, "mae"));
  const parts = [formatTable(["window", "labelled", ...(regression ? ["mae", "rmse", "r2"] : HEADLINE)], rows)];
  const last = report.at(-1)!;
  const perClass = [...new Set(last.results.filter((r) => r.metric === "precision").map((r) => r.feature))];
  if (report.length === 1 && perClass.length > 0) {
    const of = (metric: string, c: string) => last.results.find((r) => r.metric === metric && r.feature === c);
    parts.push(
      formatTable(
        ["class", "precision", "recall", "f1", "support"],
        perClass.map((c) => [
          c,
          figure(of("precision", c)?.value),
          figure(of("recall", c)?.value),
          figure(of("f1", c)?.value),
          String(of("precision", c)?.details.support ?? ""),
        ]),
      ),
    );
    const confusion = last.results.find((r) => r.metric === "confusion_matrix")?.details as { classes: string[]; matrix: number[][] } | undefined;
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

/** The report as a readable text (tables). */
export function formatReport(kind: ReportKind, model: MonitoredModel, report: ReportWindow[]): string {
  const title = `${kind} of model ${model.name}${model.version ? ` version ${model.version}` : " (all versions)"}`;
  return `${title}\n\n${kind === "quality" ? qualityText(report) : driftText(report)}\n`;
}

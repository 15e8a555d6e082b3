import type { AlertsResponse } from "@vigil/monitor";
import { absoluteRange } from "./range";

export type AlertRow = AlertsResponse[number];

/** A page that shows an alert's cause, and what it is in words. */
export interface AlertLink {
  kind: "drift" | "model" | "slo" | "traces";
  label: string;
  href: string;
}

const MINUTE = 60_000;

/**
 * The stretch of time an alert is about: the window its value came from, or, for alerts
 * recorded before windows were, the hour before it started up to its last change.
 */
export function alertWindow(alert: AlertRow): { startMs: number; endMs: number } {
  if (alert.window) return { startMs: Date.parse(alert.window.start), endMs: Date.parse(alert.window.end) };
  const startsMs = Date.parse(alert.startsAt);
  return { startMs: startsMs - 60 * MINUTE, endMs: Math.max(startsMs, Date.parse(alert.endsAt ?? alert.changedAt)) };
}

/** An absolute range around a window: the window and as long again (at least 15 minutes) on either side, so it shows before and after. */
export function rangeAround({ startMs, endMs }: { startMs: number; endMs: number }): string {
  const pad = Math.max(endMs - startMs, 15 * MINUTE);
  return absoluteRange(startMs - pad, endMs + pad);
}

const query = (params: Record<string, string | undefined>) =>
  Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== "")
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join("&");

/** What kind of figure the alert judged, from its rule's metric (or, for older alerts, its labels). */
export function causeKind(alert: AlertRow): "drift" | "quality" | "burn" | "serving" | "unknown" {
  const metric = alert.condition?.metric;
  if (metric === undefined) {
    if (alert.labels.slo) return "burn";
    if (alert.labels.feature) return "drift";
    return "unknown";
  }
  if (metric === "burn_rate") return "burn";
  if (metric.startsWith("drift.") || metric.startsWith("data_quality.") || metric === "dataset_drift_share" || metric === "reconstruction_error")
    return "drift";
  if (metric.startsWith("quality.") || metric.startsWith("estimated.") || metric === "label_coverage") return "quality";
  return "serving";
}

/**
 * The pages that show an alert's cause, the most direct first: a drifted input's histograms at
 * the window, the model's quality around the window, the SLO and the slowest traces of its
 * model in the window, the failed or slow traces behind a serving alert.
 */
export function alertLinks(alert: AlertRow): AlertLink[] {
  const { model, version, feature, slo } = alert.labels;
  const window = alertWindow(alert);
  const windowRange = absoluteRange(window.startMs, window.endMs);
  const around = rangeAround(window);
  const modelPath = model ? `/models/${encodeURIComponent(model)}` : undefined;
  const modelLink = (label: string): AlertLink[] =>
    modelPath ? [{ kind: "model", label, href: `${modelPath}?${query({ version })}${version ? "&" : ""}${around}` }] : [];
  const traces = (label: string, params: Record<string, string | undefined>): AlertLink[] =>
    model ? [{ kind: "traces", label, href: `/traces?${query({ model, ...params })}&${windowRange}` }] : [];
  switch (causeKind(alert)) {
    case "drift":
      return [
        ...(modelPath
          ? [
              {
                kind: "drift" as const,
                label: feature ? `drift of ${feature}` : "drift",
                href: `${modelPath}/drift?${query({ version, feature, window: new Date(window.endMs).toISOString() })}&${around}`,
              },
            ]
          : []),
        ...modelLink("model at the window"),
      ];
    case "quality":
      return modelLink("quality at the window");
    case "burn":
      return [
        ...(slo ? [{ kind: "slo" as const, label: `SLO ${slo}`, href: `/slos?${query({ slo })}&${around}` }] : []),
        ...traces("slowest traces", { sort: "slowest" }),
      ];
    case "serving":
      return [
        ...(alert.condition?.metric.includes("error_rate")
          ? traces("failed traces", { status: "error", sort: "newest" })
          : traces("slowest traces", { sort: "slowest" })),
        ...modelLink("model at the window"),
      ];
    case "unknown":
      return modelLink("model");
  }
}

/** Labels a silence for this alert matches on: what names the alert and what it is about, not its severity or windows. */
const SILENCE_LABELS = ["alertname", "model", "feature", "slo"];

/** Matchers, one a line as the silence form takes them, that select this alert. */
export function silenceMatchers(alert: AlertRow): string {
  return SILENCE_LABELS.filter((name) => alert.labels[name] !== undefined)
    .map((name) => `${name}=${JSON.stringify(alert.labels[name])}`)
    .join("\n");
}

const SEVERITY_ORDER: Record<string, number> = { critical: 0, warning: 1, info: 2 };

/** The order in which an alert asks for attention: firing before pending, then critical, warning, info; then the oldest, then by name so the order holds between loads. */
export function attentionOrder(a: AlertRow, b: AlertRow): number {
  const state = (x: AlertRow) => (x.state === "firing" ? 0 : 1);
  const severity = (x: AlertRow) => SEVERITY_ORDER[x.labels.severity ?? ""] ?? 3;
  const name = (x: AlertRow) => x.labels.alertname ?? x.rule;
  return state(a) - state(b) || severity(a) - severity(b) || a.startsAt.localeCompare(b.startsAt) || name(a).localeCompare(name(b));
}

/** The value against the threshold, in words: "14.8 > 6". */
export function valueText(alert: AlertRow): string {
  const value = formatNumber(alert.value);
  return alert.condition ? `${value} ${alert.condition.op} ${formatNumber(alert.condition.threshold)}` : value;
}

/** Three significant digits, without trailing zeros. */
export const formatNumber = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : String(Number(v.toPrecision(3))));

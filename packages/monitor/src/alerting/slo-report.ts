import { formatDuration } from "@vigil/config";
import { type StoreEngine, readSloIncidents } from "@vigil/store";
import { type Slo, type SloEvents, sloEvents, sloEventsPerStep } from "./slo.js";

export interface SloPeriod {
  from: string;
  to: string;
  good: number;
  total: number;
  /** good / total; null without events. */
  attainment: number | null;
}

export interface SloIncident {
  alertname: string;
  severity: string;
  startsAt: string;
  /** null while it still fires. */
  endsAt: string | null;
  labels: Record<string, string>;
}

export interface SloReport {
  slo: string;
  description: string;
  model: string;
  indicator: Slo["indicator"];
  thresholdMs: number | null;
  objective: number;
  window: string;
  period: { from: string; to: string };
  good: number;
  total: number;
  bad: number;
  attainment: number | null;
  met: boolean | null;
  /** Bad events the objective allows over the period, the share of that spent, and what is left (negative when overspent). */
  budget: { allowedBad: number; spent: number | null; remaining: number | null };
  /** The lowest-attainment stretches of the period, worst first. */
  worst: SloPeriod[];
  incidents: SloIncident[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Events and attainment per stretch of `stepMs` in [fromMs, toMs). */
async function periods(engine: StoreEngine, slo: Slo, fromMs: number, toMs: number, stepMs: number): Promise<SloPeriod[]> {
  return (await sloEventsPerStep(engine, slo, fromMs, toMs, stepMs)).map(({ startMs, good, total }) => ({
    from: iso(startMs),
    to: iso(Math.min(startMs + stepMs, toMs)),
    good,
    total,
    attainment: total === 0 ? null : good / total,
  }));
}

/** Burn-rate alerts of this SLO that fired in the period, from the alert history. */
async function incidents(engine: StoreEngine, slo: Slo, fromMs: number, toMs: number): Promise<SloIncident[]> {
  return (await readSloIncidents(engine, slo.name, fromMs, toMs)).map((i) => ({
    alertname: i.labels.alertname ?? "",
    severity: i.labels.severity ?? "",
    startsAt: iso(i.startsAtMs),
    endsAt: i.endsAtMs === null ? null : iso(i.endsAtMs),
    labels: i.labels,
  }));
}

/** How an SLO did over a period: attainment, error budget, the worst stretches (of `stepMs`) and the alerts it raised. */
export async function sloReport(engine: StoreEngine, slo: Slo, fromMs: number, toMs: number, stepMs = 3_600_000): Promise<SloReport> {
  const events: SloEvents = await sloEvents(engine, slo, fromMs, toMs);
  const bad = events.total - events.good;
  const allowedBad = (1 - slo.objective) * events.total;
  const attainment = events.total === 0 ? null : events.good / events.total;
  const spent = events.total === 0 ? null : allowedBad === 0 ? (bad === 0 ? 0 : Number.POSITIVE_INFINITY) : bad / allowedBad;
  const stretches = await periods(engine, slo, fromMs, toMs, stepMs);
  return {
    slo: slo.name,
    description: slo.description,
    model: slo.model,
    indicator: slo.indicator,
    thresholdMs: slo.thresholdUs === undefined ? null : slo.thresholdUs / 1000,
    objective: slo.objective,
    window: formatDuration(slo.windowMs),
    period: { from: iso(fromMs), to: iso(toMs) },
    good: events.good,
    total: events.total,
    bad,
    attainment,
    met: attainment === null ? null : attainment >= slo.objective,
    budget: { allowedBad, spent, remaining: spent === null ? null : 1 - spent },
    worst: stretches
      .filter((p) => p.attainment !== null && p.good < p.total)
      .sort((a, b) => a.attainment! - b.attainment! || a.from.localeCompare(b.from))
      .slice(0, 5),
    incidents: await incidents(engine, slo, fromMs, toMs),
  };
}

const percent = (v: number | null, digits = 3) => (v === null ? "-" : Number.isFinite(v) ? `${(100 * v).toFixed(digits)}%` : "∞");

/** The report as Markdown. */
export function sloReportMarkdown(reports: SloReport[]): string {
  return reports
    .map((r) => {
      const lines = [
        `## SLO ${r.slo}${r.description ? `: ${r.description}` : ""}`,
        "",
        `Model \`${r.model}\`, ${r.indicator}${r.thresholdMs === null ? "" : ` (at or under ${r.thresholdMs} ms)`}, objective ${percent(r.objective)} over ${r.window}. Period ${r.period.from} to ${r.period.to}.`,
        "",
        "| attainment | met | good | total | bad | budget (bad allowed) | budget spent | budget remaining |",
        "|---:|:---:|---:|---:|---:|---:|---:|---:|",
        `| ${percent(r.attainment)} | ${r.met === null ? "-" : r.met ? "yes" : "no"} | ${r.good} | ${r.total} | ${r.bad} | ${r.budget.allowedBad.toFixed(1)} | ${percent(r.budget.spent, 1)} | ${percent(r.budget.remaining, 1)} |`,
        "",
        "Worst stretches:",
        "",
        ...(r.worst.length === 0
          ? ["none (no bad events)"]
          : [
              "| from | to | attainment | good | total |",
              "|---|---|---:|---:|---:|",
              ...r.worst.map((w) => `| ${w.from} | ${w.to} | ${percent(w.attainment)} | ${w.good} | ${w.total} |`),
            ]),
        "",
        "Incidents:",
        "",
        ...(r.incidents.length === 0
          ? ["none"]
          : [
              "| alert | severity | windows | started | ended |",
              "|---|---|---|---|---|",
              ...r.incidents.map(
                (i) =>
                  `| ${i.alertname} | ${i.severity} | ${i.labels.long_window ?? ""}/${i.labels.short_window ?? ""} | ${i.startsAt} | ${i.endsAt ?? "still firing"} |`,
              ),
            ]),
      ];
      return lines.join("\n");
    })
    .join("\n\n");
}

const csvCell = (v: unknown) => {
  const text = v === null || v === undefined ? "" : String(v);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** One CSV row per SLO (the headline figures). */
export function sloReportCsv(reports: SloReport[]): string {
  const header = [
    "slo",
    "model",
    "indicator",
    "threshold_ms",
    "objective",
    "window",
    "from",
    "to",
    "good",
    "total",
    "bad",
    "attainment",
    "met",
    "budget_allowed_bad",
    "budget_spent",
    "budget_remaining",
    "incidents",
  ];
  const rows = reports.map((r) => [
    r.slo,
    r.model,
    r.indicator,
    r.thresholdMs,
    r.objective,
    r.window,
    r.period.from,
    r.period.to,
    r.good,
    r.total,
    r.bad,
    r.attainment,
    r.met,
    r.budget.allowedBad,
    r.budget.spent,
    r.budget.remaining,
    r.incidents.length,
  ]);
  return [header, ...rows].map((row) => row.map(csvCell).join(",")).join("\n");
}

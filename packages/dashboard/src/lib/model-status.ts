import { type AlertRow, attentionOrder, causeKind } from "./alert-links";

export const AREAS = ["serving", "quality", "drift", "slo"] as const;
export type Area = (typeof AREAS)[number];
export type Status = "ok" | "warning" | "firing";

export interface AreaStatus {
  status: Status;
  /** The alerts behind the status, the most urgent first. */
  alerts: AlertRow[];
}

const AREA_OF = { serving: "serving", quality: "quality", drift: "drift", burn: "slo", unknown: undefined } as const;

/** Which part of a model an alert is about, or undefined when its metric says nothing of one. */
export const areaOf = (alert: AlertRow): Area | undefined => AREA_OF[causeKind(alert)];

/**
 * Each area of a model as the person on call reads it: firing while an alert about it fires,
 * warning while one is pending (or, for serving, when requests failed on the server's side in the
 * range), ok otherwise.
 */
export function modelStatus(model: string, alerts: AlertRow[], serverErrors: number): Record<Area, AreaStatus> {
  const about = alerts.filter((a) => a.labels.model === model).sort(attentionOrder);
  const status = Object.fromEntries(
    AREAS.map((area): [Area, AreaStatus] => {
      const mine = about.filter((a) => areaOf(a) === area);
      const worst: Status = mine.some((a) => a.state === "firing") ? "firing" : mine.length > 0 ? "warning" : "ok";
      return [area, { status: worst, alerts: mine }];
    }),
  ) as Record<Area, AreaStatus>;
  if (status.serving.status === "ok" && serverErrors > 0) status.serving.status = "warning";
  return status;
}

export interface AlertGroup {
  alertname: string;
  model: string;
  /** The most urgent first. */
  alerts: AlertRow[];
}

/** Alerts grouped by name and model (three burn-rate windows of one SLO are one group), the most urgent group first. */
export function groupAlerts(alerts: AlertRow[]): AlertGroup[] {
  const groups = new Map<string, AlertGroup>();
  for (const alert of [...alerts].sort(attentionOrder)) {
    const alertname = alert.labels.alertname ?? alert.rule;
    const model = alert.labels.model ?? "";
    const key = JSON.stringify([alertname, model]);
    if (!groups.has(key)) groups.set(key, { alertname, model, alerts: [] });
    groups.get(key)!.alerts.push(alert);
  }
  return [...groups.values()].sort((a, b) => attentionOrder(a.alerts[0]!, b.alerts[0]!));
}

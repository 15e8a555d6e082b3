import { type Alert, Alerting, type AlertingConfig, type Silence, formatMatcher, formatTable, silenceActive } from "@vigil/monitor";
import type { StoreEngine } from "@vigil/store";
import type { Logger } from "@vigil/inference";
import type { Registry } from "prom-client";

/** Starts alert evaluation, notifications and the Alertmanager push on a store; failures are logged, never fatal. */
export async function startAlerting(
  engine: StoreEngine,
  config: AlertingConfig,
  log: Logger,
  options: { registry?: Registry; onLines?: (lines: string[]) => void; takeover?: boolean } = {},
): Promise<Alerting> {
  const previous = new Map<string, Alert["state"]>();
  const alerting = new Alerting(engine, config, {
    registry: options.registry,
    onError: (error) => log.error({ err: error }, `alerting: ${error.message}`),
    onEvaluation: (alerts) => {
      const lines = describeAlertChanges(alerts, previous);
      for (const line of lines) log.info(line);
      if (lines.length > 0) options.onLines?.(lines);
    },
  });
  await alerting.start({ takeover: options.takeover });
  log.info(
    { rules: config.rules.length, slos: config.slos.length, receivers: config.receivers.length, alertmanager: config.alertmanager?.url },
    "alerting running",
  );
  return alerting;
}

const labelText = (alert: Alert) =>
  Object.entries(alert.labels)
    .filter(([k]) => k !== "alertname" && k !== "severity")
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

/** A line for each alert that started firing or resolved since the previous evaluation. */
export function describeAlertChanges(alerts: Alert[], previous: Map<string, Alert["state"]>): string[] {
  const lines: string[] = [];
  for (const alert of alerts) {
    if (previous.get(alert.fingerprint) === alert.state) continue;
    const value = Number.isFinite(alert.value) ? alert.value.toPrecision(4) : String(alert.value);
    lines.push(
      `alert ${alert.state === "firing" ? "FIRING  " : "RESOLVED"} ${alert.labels.alertname} [${alert.labels.severity}] {${labelText(alert)}} value ${value}${alert.annotations.summary ? `: ${alert.annotations.summary}` : ""}`,
    );
    if (alert.state === "resolved") previous.delete(alert.fingerprint);
    else previous.set(alert.fingerprint, alert.state);
  }
  return lines;
}

/** Silences as a table. */
export function formatSilences(silences: Silence[], nowMs = Date.now()): string {
  if (silences.length === 0) return "no silences";
  return formatTable(
    ["id", "state", "matchers", "starts", "ends", "by", "comment"],
    silences.map((s) => [
      s.id,
      silenceActive(s, nowMs) ? "active" : s.endsAt <= nowMs ? "expired" : "pending",
      s.matchers.map(formatMatcher).join(" "),
      new Date(s.startsAt).toISOString().slice(0, 19),
      new Date(s.endsAt).toISOString().slice(0, 19),
      s.createdBy,
      s.comment,
    ]),
  );
}

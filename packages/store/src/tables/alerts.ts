import { z } from "zod";
import type { StoreEngine } from "../engine.js";
import { clickHouseFloat, countValue, dateTimeColumn, floatColumn, floatValue, formatDateTime64Millis, insertRows, labelMap, queryRows } from "./columns.js";

/** Every alert state change; alerting restores its state from here at start (migrations/0003_monitoring.sql). */
export const ALERTS = "alerts";

export type AlertChangeState = "pending" | "firing" | "resolved" | "inactive";

/** One alert state change. Times are epoch milliseconds. */
export interface AlertChange {
  fingerprint: string;
  rule: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertChangeState;
  value: number;
  startsAtMs: number;
  /** Set when the alert resolved. */
  endsAtMs: number | null;
  changedAtMs: number;
}

export const alertInsertSchema = z.object({
  fingerprint: z.string(),
  rule: z.string(),
  labels: labelMap,
  annotations: labelMap,
  state: z.enum(["pending", "firing", "resolved", "inactive"]),
  value: floatColumn,
  starts_at: dateTimeColumn,
  ends_at: dateTimeColumn.nullable(),
  changed_at: dateTimeColumn,
});
export type AlertInsert = z.infer<typeof alertInsertSchema>;

function alertRow(c: AlertChange): AlertInsert {
  return {
    fingerprint: c.fingerprint,
    rule: c.rule,
    labels: c.labels,
    annotations: c.annotations,
    state: c.state,
    value: clickHouseFloat(c.value),
    starts_at: formatDateTime64Millis(c.startsAtMs),
    ends_at: c.endsAtMs === null ? null : formatDateTime64Millis(c.endsAtMs),
    changed_at: formatDateTime64Millis(c.changedAtMs),
  };
}

export async function saveAlertChanges(engine: StoreEngine, changes: AlertChange[]): Promise<void> {
  await insertRows(engine, ALERTS, changes.map(alertRow));
}

const millis = countValue;

export const alertReadSchema = z
  .object({
    fingerprint: z.string(),
    rule: z.string(),
    labels: labelMap,
    annotations: labelMap,
    state: z.enum(["pending", "firing", "resolved", "inactive"]),
    value: floatValue,
    starts_ms: millis,
    ends_ms: millis.nullable(),
    changed_ms: millis,
  })
  .transform(
    (r): AlertChange => ({
      fingerprint: r.fingerprint,
      rule: r.rule,
      labels: r.labels,
      annotations: r.annotations,
      state: r.state,
      value: r.value,
      startsAtMs: r.starts_ms,
      endsAtMs: r.ends_ms,
      changedAtMs: r.changed_ms,
    }),
  );

/** Alert state changes in [fromMs, toMs), newest first. */
export function readAlertChanges(engine: StoreEngine, range: { fromMs: number; toMs: number }, limit: number): Promise<AlertChange[]> {
  return queryRows(
    engine,
    alertReadSchema,
    `SELECT fingerprint, rule, labels, annotations, state, value, toUnixTimestamp64Milli(starts_at) AS starts_ms,
            toUnixTimestamp64Milli(ends_at) AS ends_ms, toUnixTimestamp64Milli(changed_at) AS changed_ms
     FROM ${ALERTS}
     WHERE changed_at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND changed_at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
     ORDER BY changed_at DESC LIMIT {limit:UInt32}`,
    { from: Math.floor(range.fromMs), to: Math.ceil(range.toMs), limit },
  );
}

/** Alerts pending or firing now: the newest change of each fingerprint, latest started first. */
export function readActiveAlerts(engine: StoreEngine): Promise<AlertChange[]> {
  return queryRows(
    engine,
    alertReadSchema,
    `SELECT fingerprint, argMax(rule, changed_at) AS rule, argMax(labels, changed_at) AS labels, argMax(annotations, changed_at) AS annotations,
            argMax(state, changed_at) AS state, argMax(value, changed_at) AS value, toUnixTimestamp64Milli(argMax(starts_at, changed_at)) AS starts_ms,
            NULL AS ends_ms, toUnixTimestamp64Milli(max(changed_at)) AS changed_ms
     FROM ${ALERTS} GROUP BY fingerprint HAVING state IN ('pending', 'firing') ORDER BY starts_ms DESC`,
  );
}

export interface AlertIncident {
  labels: Record<string, string>;
  startsAtMs: number;
  /** null while it still fires. */
  endsAtMs: number | null;
}

const incidentReadSchema = z
  .object({ alert_labels: labelMap, starts_ms: millis, ended_ms: millis.nullable() })
  .transform((r): AlertIncident => ({ labels: r.alert_labels, startsAtMs: r.starts_ms, endsAtMs: r.ended_ms }));

/** The alerts labelled with this SLO that fired and overlap [fromMs, toMs), one per firing, oldest first. */
export function readSloIncidents(engine: StoreEngine, slo: string, fromMs: number, toMs: number): Promise<AlertIncident[]> {
  return queryRows(
    engine,
    incidentReadSchema,
    `SELECT any(labels) AS alert_labels, toUnixTimestamp64Milli(starts_at) AS starts_ms, maxIf(ends_at, state = 'resolved') AS ended,
            toUnixTimestamp64Milli(ended) AS ended_ms
     FROM ${ALERTS}
     WHERE labels['slo'] = {slo:String} AND state IN ('firing', 'resolved') AND starts_at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
     GROUP BY fingerprint, starts_at
     HAVING ended IS NULL OR ended >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
     ORDER BY starts_at`,
    { slo, from: fromMs, to: toMs },
  );
}

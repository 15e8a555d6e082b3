import { type AlertChange, type StoreEngine, readActiveAlerts, readAlertChanges } from "@vigil/store";
import type { z } from "zod";
import type { alertSchema } from "./schemas.js";

/** An alert state change as the API and dashboard show it: times in ISO 8601. */
type AlertHistoryRow = z.infer<typeof alertSchema>;

const iso = (ms: number) => new Date(ms).toISOString();

const historyRow = (c: AlertChange): AlertHistoryRow => ({
  fingerprint: c.fingerprint,
  rule: c.rule,
  labels: c.labels,
  annotations: c.annotations,
  state: c.state,
  value: c.value,
  startsAt: iso(c.startsAtMs),
  endsAt: c.endsAtMs === null ? null : iso(c.endsAtMs),
  changedAt: iso(c.changedAtMs),
});

/** Alert state changes in a range, newest first. */
export async function alertHistory(engine: StoreEngine, fromMs: number, toMs: number, limit: number): Promise<AlertHistoryRow[]> {
  return (await readAlertChanges(engine, { fromMs, toMs }, limit)).map(historyRow);
}

/** Alerts pending or firing now, from the alert history (the newest state of each fingerprint). */
export async function activeAlerts(engine: StoreEngine): Promise<AlertHistoryRow[]> {
  return (await readActiveAlerts(engine)).map(historyRow);
}

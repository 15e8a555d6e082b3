import { type AlertChange, type StoreEngine, readActiveAlerts, readAlertChanges } from "@vigil/store";
import type { z } from "zod";
import { splitCause } from "../alerting/alert-cause.js";
import type { alertSchema, healthSchema } from "./schemas.js";

/** An alert state change as the API and dashboard show it: times in ISO 8601. */
type AlertHistoryRow = z.infer<typeof alertSchema>;

const iso = (ms: number) => new Date(ms).toISOString();

function historyRow(c: AlertChange): AlertHistoryRow {
  const { annotations, cause } = splitCause(c.annotations);
  return {
    fingerprint: c.fingerprint,
    rule: c.rule,
    labels: c.labels,
    annotations,
    state: c.state,
    value: c.value,
    condition: cause ? { metric: cause.metric, op: cause.op, threshold: cause.threshold } : null,
    window: cause ? { start: iso(cause.windowStartMs), end: iso(cause.windowEndMs) } : null,
    startsAt: iso(c.startsAtMs),
    endsAt: c.endsAtMs === null ? null : iso(c.endsAtMs),
    changedAt: iso(c.changedAtMs),
  };
}

/** Alert state changes in a range, newest first. */
export async function alertHistory(engine: StoreEngine, fromMs: number, toMs: number, limit: number): Promise<AlertHistoryRow[]> {
  return (await readAlertChanges(engine, { fromMs, toMs }, limit)).map(historyRow);
}

/** Alerts pending or firing now, from the alert history (the newest state of each fingerprint). */
export async function activeAlerts(engine: StoreEngine): Promise<AlertHistoryRow[]> {
  return (await readActiveAlerts(engine)).map(historyRow);
}

type AlertingHealth = NonNullable<z.infer<typeof healthSchema>["alerting"]>;

/**
 * Alerting's health as the alert history shows it, for an API whose process does not evaluate
 * rules (the evaluator writes every state change there): how many alerts fire and wait, and when
 * the newest change was recorded.
 */
export async function alertingHealthFromHistory(engine: StoreEngine, nowMs = Date.now()): Promise<AlertingHealth> {
  const [active, newest] = await Promise.all([readActiveAlerts(engine), readAlertChanges(engine, { fromMs: 0, toMs: nowMs + 1 }, 1)]);
  return {
    source: "history",
    lastChangeAt: newest[0] ? iso(newest[0].changedAtMs) : null,
    firing: active.filter((a) => a.state === "firing").length,
    pending: active.filter((a) => a.state === "pending").length,
  };
}

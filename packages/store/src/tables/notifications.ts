import { z } from "zod";
import type { StoreEngine } from "../engine.js";
import { countValue, dateTimeColumn, formatDateTime64Millis, insertRows, queryRows } from "./columns.js";

/** Every webhook delivery attempt and how it went, and every alert kept out of one (migrations/0003_monitoring.sql). */
export const NOTIFICATIONS = "notifications";

export type DeliveryOutcome = "delivered" | "failed" | "gave_up" | "suppressed";

export interface NotificationAttempt {
  /** '' for a suppressed alert, which has no delivery. */
  deliveryId: string;
  receiver: string;
  groupKey: string;
  attempt: number;
  attemptedAtMs: number;
  /** 0 when no HTTP answer came. */
  statusCode: number;
  outcome: DeliveryOutcome;
  error: string;
  payload: string;
}

export const notificationInsertSchema = z.object({
  delivery_id: z.string(),
  receiver: z.string(),
  group_key: z.string(),
  attempt: z.number().int(),
  attempted_at: dateTimeColumn,
  status_code: z.number().int(),
  outcome: z.enum(["delivered", "failed", "gave_up", "suppressed"]),
  error: z.string(),
  payload: z.string(),
});
export type NotificationInsert = z.infer<typeof notificationInsertSchema>;

function notificationRow(a: NotificationAttempt): NotificationInsert {
  return {
    delivery_id: a.deliveryId,
    receiver: a.receiver,
    group_key: a.groupKey,
    attempt: a.attempt,
    attempted_at: formatDateTime64Millis(a.attemptedAtMs),
    status_code: a.statusCode,
    outcome: a.outcome,
    error: a.error,
    payload: a.payload,
  };
}

export async function saveNotificationAttempts(engine: StoreEngine, attempts: NotificationAttempt[]): Promise<void> {
  await insertRows(engine, NOTIFICATIONS, attempts.map(notificationRow));
}

/** The latest delivered notification of a group: what its receiver last heard about it. */
export interface DeliveredNotification {
  groupKey: string;
  receiver: string;
  attemptedAtMs: number;
  /** The webhook body as sent (JSON). */
  payload: string;
}

const deliveredRow = z.object({ group_key: z.string(), receiver: z.string(), attempted_ms: countValue, payload: z.string() });

/**
 * Per group, the last notification a receiver accepted since `sinceMs`, so a monitor taking over
 * alerting knows what was already announced and sends only what was not.
 */
export async function readDeliveredNotifications(engine: StoreEngine, sinceMs: number): Promise<DeliveredNotification[]> {
  const rows = await queryRows(
    engine,
    deliveredRow,
    `SELECT group_key, receiver, toUnixTimestamp64Milli(max(attempted_at)) AS attempted_ms, argMax(payload, attempted_at) AS payload
       FROM ${NOTIFICATIONS} WHERE outcome = 'delivered' AND attempted_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')
      GROUP BY group_key, receiver`,
    { since: Math.floor(sinceMs) },
  );
  return rows.map((r) => ({ groupKey: r.group_key, receiver: r.receiver, attemptedAtMs: r.attempted_ms, payload: r.payload }));
}

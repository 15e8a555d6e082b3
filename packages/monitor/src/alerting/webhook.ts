import { createHmac, randomUUID } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type DeliveryOutcome, type NotificationAttempt, type StoreEngine, saveNotificationAttempts } from "@vigil/store";
import { ConfigError } from "../errors.js";
import { PeriodicTask } from "../periodic.js";
import type { Notification, Suppression } from "./dispatcher.js";

export interface WebhookReceiver {
  name: string;
  url: string;
  /** HMAC-SHA256 key; the signature header is left out when empty. */
  secret: string;
  timeoutMs: number;
  /** A delivery not accepted within this long after it was queued is given up. */
  giveUpAfterMs: number;
  /** Longest wait between retries; the sender's `retryMaxMs` (5 minutes by default) when absent. */
  maxBackoffMs?: number;
}

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = "x-vigil-signature";
export const DELIVERY_HEADER = "x-vigil-delivery";

/** The signature header value for a body sent at `timestampS`. */
export function signBody(secret: string, body: string, timestampS: number): string {
  return `t=${timestampS},v1=${createHmac("sha256", secret).update(`${timestampS}.${body}`).digest("hex")}`;
}

/** Backoff before attempt n + 1: doubling from `initialMs` up to `maxMs`, with jitter drawn from the upper half. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

interface Delivery {
  id: string;
  receiver: string;
  groupKey: string;
  body: string;
  queuedAt: number;
  attempts: number;
  nextAttemptAt: number;
}

export interface WebhookSenderOptions {
  outboxDir: string;
  receivers: WebhookReceiver[];
  /** Where every attempt is recorded (`notifications`); a failing store never holds deliveries up. */
  engine: StoreEngine;
  retryInitialMs?: number;
  retryMaxMs?: number;
  onError?: (error: Error) => void;
}

/**
 * Delivers notifications to webhook receivers, at least once. Each is written to an outbox
 * directory before its first attempt and removed only when a receiver answers 2xx or the
 * delivery is given up, so deliveries pending at a restart are sent by the next process. Every
 * attempt is a row in `notifications`.
 */
export class WebhookSender {
  private readonly receivers: Map<string, WebhookReceiver>;
  private readonly pending = new Map<string, Delivery>();
  private readonly schedule = new PeriodicTask(
    () => this.attemptDue(),
    1000,
    (error) => this.options.onError?.(error),
  );

  constructor(private readonly options: WebhookSenderOptions) {
    this.receivers = new Map(options.receivers.map((r) => [r.name, r]));
  }

  /** Loads the deliveries an earlier process left in the outbox. */
  async open(): Promise<number> {
    await mkdir(this.options.outboxDir, { recursive: true });
    for (const name of await readdir(this.options.outboxDir)) {
      if (!name.endsWith(".json")) continue;
      const delivery = JSON.parse(await readFile(join(this.options.outboxDir, name), "utf8")) as Delivery;
      this.pending.set(delivery.id, { ...delivery, nextAttemptAt: Math.min(delivery.nextAttemptAt, Date.now()) });
    }
    return this.pending.size;
  }

  /** Removes what an earlier tenure left in the outbox, before open(); see Alerting.start's takeover. */
  async discardOutbox(): Promise<void> {
    const names = await readdir(this.options.outboxDir).catch(() => []);
    await Promise.all(names.filter((n) => n.endsWith(".json")).map((n) => rm(join(this.options.outboxDir, n), { force: true })));
  }

  /** Queues a notification durably; it is attempted on the next pass. */
  async enqueue(notification: Notification, nowMs = Date.now()): Promise<string> {
    if (!this.receivers.has(notification.receiver)) throw new ConfigError(`no receiver named "${notification.receiver}"`);
    const delivery: Delivery = {
      id: randomUUID(),
      receiver: notification.receiver,
      groupKey: notification.groupKey,
      body: JSON.stringify(notification.payload),
      queuedAt: nowMs,
      attempts: 0,
      nextAttemptAt: nowMs,
    };
    await this.persist(delivery);
    this.pending.set(delivery.id, delivery);
    return delivery.id;
  }

  /** Records alerts kept out of notifications by a silence or an inhibition. */
  async recordSuppressed(suppressed: Suppression[], nowMs = Date.now()): Promise<void> {
    await this.record(
      suppressed.map((s) => ({
        deliveryId: "",
        receiver: s.receiver,
        groupKey: s.groupKey,
        attempt: 0,
        attemptedAtMs: nowMs,
        statusCode: 0,
        outcome: "suppressed",
        error: s.reason,
        payload: JSON.stringify(s.alert),
      })),
    );
  }

  pendingCount(): number {
    return this.pending.size;
  }

  /** Attempts every delivery that is due; one pass at a time. */
  async attemptDue(nowMs = Date.now()): Promise<void> {
    const due = [...this.pending.values()].filter((d) => d.nextAttemptAt <= nowMs);
    await Promise.all(due.map((d) => this.attempt(d)));
  }

  /** Attempts due deliveries every second until stop(). */
  start(): void {
    this.schedule.start();
  }

  async stop(): Promise<void> {
    await this.schedule.stop();
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const receiver = this.receivers.get(delivery.receiver);
    const now = Date.now();
    delivery.attempts++;
    let status = 0;
    let error = "";
    if (!receiver) {
      error = `receiver "${delivery.receiver}" is no longer configured`;
    } else {
      const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "vigil-alerting", [DELIVERY_HEADER]: delivery.id };
      if (receiver.secret) headers[SIGNATURE_HEADER] = signBody(receiver.secret, delivery.body, Math.floor(now / 1000));
      try {
        const response = await fetch(receiver.url, { method: "POST", headers, body: delivery.body, signal: AbortSignal.timeout(receiver.timeoutMs) });
        status = response.status;
        await response.arrayBuffer();
        if (status < 200 || status >= 300) error = `HTTP ${status}`;
      } catch (e) {
        error = (e as Error).cause instanceof Error ? `${(e as Error).message}: ${((e as Error).cause as Error).message}` : (e as Error).message;
      }
    }
    const giveUpAfter = receiver?.giveUpAfterMs ?? 0;
    const outcome: DeliveryOutcome = error === "" ? "delivered" : now - delivery.queuedAt >= giveUpAfter ? "gave_up" : "failed";
    await this.record([
      {
        deliveryId: delivery.id,
        receiver: delivery.receiver,
        groupKey: delivery.groupKey,
        attempt: delivery.attempts,
        attemptedAtMs: now,
        statusCode: status,
        outcome,
        error,
        payload: delivery.body,
      },
    ]);
    if (outcome === "failed") {
      delivery.nextAttemptAt =
        now + backoffMs(delivery.attempts, this.options.retryInitialMs ?? 1000, receiver?.maxBackoffMs ?? this.options.retryMaxMs ?? 300_000);
      await this.persist(delivery);
      return;
    }
    this.pending.delete(delivery.id);
    await rm(this.fileOf(delivery.id), { force: true });
  }

  private fileOf(id: string): string {
    return join(this.options.outboxDir, `${id}.json`);
  }

  /** Written to a temporary name and renamed, so a crash never leaves half a delivery. */
  private async persist(delivery: Delivery): Promise<void> {
    await mkdir(this.options.outboxDir, { recursive: true });
    const temporary = `${this.fileOf(delivery.id)}.tmp`;
    await writeFile(temporary, JSON.stringify(delivery));
    await rename(temporary, this.fileOf(delivery.id));
  }

  private async record(attempts: NotificationAttempt[]): Promise<void> {
    await saveNotificationAttempts(this.options.engine, attempts).catch((error: unknown) => this.options.onError?.(error as Error));
  }
}

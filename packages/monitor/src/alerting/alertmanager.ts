import { UpstreamError } from "../errors.js";
import type { Alert } from "./evaluator.js";

/** How long Alertmanager is told a firing alert lasts unless it is sent again; Prometheus uses 4 evaluation intervals (at least 1 minute each). */
const validFor = (intervalMs: number) => 4 * Math.max(intervalMs, 60_000);
/** Resolved alerts are sent again for this long, in case a push was lost. */
const RESEND_RESOLVED_MS = 15 * 60_000;

/**
 * Pushes alerts to a real Alertmanager's /api/v2/alerts as Prometheus does: every firing alert
 * on every evaluation with an endsAt a few intervals ahead (so Alertmanager resolves them if
 * Vigil goes away), and resolved alerts with their end time for 15 minutes.
 */
export class AlertmanagerPusher {
  private readonly resolved = new Map<string, Alert>();

  constructor(
    private readonly url: string,
    private readonly options: { externalUrl: string; intervalMs: number; timeoutMs?: number },
  ) {}

  async push(alerts: Alert[], nowMs = Date.now()): Promise<void> {
    for (const a of alerts) {
      if (a.state === "resolved") this.resolved.set(a.fingerprint, a);
      else this.resolved.delete(a.fingerprint);
    }
    for (const [fp, a] of this.resolved) if (nowMs - (a.endsAt ?? nowMs) > RESEND_RESOLVED_MS) this.resolved.delete(fp);
    const firing = alerts.filter((a) => a.state === "firing");
    const body = [...firing, ...this.resolved.values()].map((a) => ({
      labels: a.labels,
      annotations: a.annotations,
      startsAt: new Date(a.startsAt).toISOString(),
      endsAt: new Date(a.endsAt ?? nowMs + validFor(this.options.intervalMs)).toISOString(),
      generatorURL: `${this.options.externalUrl}/alerts?fingerprint=${a.fingerprint}`,
    }));
    if (body.length === 0) return;
    const endpoint = `${this.url.replace(/\/$/, "")}/api/v2/alerts`;
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    const text = await response.text();
    if (!response.ok) throw new UpstreamError(`Alertmanager at ${endpoint} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
}

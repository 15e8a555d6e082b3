import type { Alert } from "./evaluator.js";
import { type Labels, type Matcher, commonLabels, matches } from "./alert-labels.js";
import { type Silence, silencing } from "./silences.js";

/** A node of the routing tree, with what it inherits from its parents filled in. */
export interface Route {
  /** Position in the tree ("0", "0.1", ...), part of each group's key. */
  id: string;
  receiver: string;
  matchers: Matcher[];
  /** Labels that split alerts into notifications; "..." groups by every label. */
  groupBy: string[];
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  /** Keep looking at later siblings after this route matched. */
  continue: boolean;
  routes: Route[];
}

export interface InhibitRule {
  source: Matcher[];
  target: Matcher[];
  /** Labels that must be equal on source and target. */
  equal: string[];
}

/**
 * The routes an alert goes to, as Alertmanager walks its tree: the first matching child (and
 * any after it while `continue` is set), depth first; the parent itself when no child matches.
 */
export function routesFor(route: Route, labels: Labels): Route[] {
  const found: Route[] = [];
  for (const child of route.routes) {
    if (!matches(labels, child.matchers)) continue;
    found.push(...routesFor(child, labels));
    if (!child.continue) break;
  }
  return found.length > 0 ? found : [route];
}

/** The longest repeat_interval in a routing tree: how far back a notification can still stop a repeat. */
export function longestRepeatInterval(route: Route): number {
  return Math.max(route.repeatIntervalMs, ...route.routes.map(longestRepeatInterval));
}

/** The webhook body, Alertmanager's version 4, so anything that reads Alertmanager webhooks reads Vigil's. */
export interface WebhookPayload {
  version: "4";
  groupKey: string;
  truncatedAlerts: number;
  status: "firing" | "resolved";
  receiver: string;
  groupLabels: Labels;
  commonLabels: Labels;
  commonAnnotations: Labels;
  externalURL: string;
  alerts: Array<{
    status: "firing" | "resolved";
    labels: Labels;
    annotations: Labels;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }>;
}

export interface Notification {
  receiver: string;
  groupKey: string;
  payload: WebhookPayload;
}

export interface Suppression {
  alert: Alert;
  receiver: string;
  groupKey: string;
  reason: string;
}

interface Group {
  key: string;
  route: Route;
  labels: Labels;
  alerts: Map<string, Alert>;
  createdAt: number;
  lastFlushAt: number | undefined;
  lastSentAt: number | undefined;
  /** Fingerprints announced firing and not yet resolved. */
  notified: Set<string>;
  suppressed: Set<string>;
}

/** Alertmanager's zero time, which its webhooks send as endsAt of a firing alert. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

export interface DispatcherOptions {
  externalUrl: string;
  /** Per receiver: leave resolved alerts out of its notifications. */
  sendResolved: (receiver: string) => boolean;
  /** Per receiver: most alerts in one notification (0: all); the rest are counted in truncatedAlerts. */
  maxAlerts: (receiver: string) => number;
}

/**
 * Groups alerts by route and labels and decides when each group is notified, with
 * Alertmanager's timing: a new group waits group_wait, then a changed group is sent at most
 * every group_interval, and an unchanged one again after repeat_interval. Silenced and
 * inhibited alerts are kept out of notifications (and reported, once, as suppressed).
 */
export class Dispatcher {
  private readonly groups = new Map<string, Group>();
  /** What receivers last heard per group key, from an earlier process; applied when the group forms again. */
  private readonly delivered = new Map<string, { notified: Set<string>; sentAt: number }>();
  private silences: Silence[] = [];

  constructor(
    private readonly root: Route,
    private readonly inhibitRules: InhibitRule[],
    private readonly options: DispatcherOptions,
  ) {}

  /**
   * Takes what receivers already accepted (the last delivered body per group), so a process that
   * takes alerting over announces only alerts that were not announced, and resolves those that were.
   */
  restoreDelivered(delivered: Array<{ groupKey: string; attemptedAtMs: number; payload: WebhookPayload }>): void {
    for (const d of delivered) {
      const notified = new Set(d.payload.alerts.filter((a) => a.status === "firing").map((a) => a.fingerprint));
      this.delivered.set(d.groupKey, { notified, sentAt: d.attemptedAtMs });
    }
  }

  setSilences(silences: Silence[]): void {
    this.silences = silences;
  }

  /** Takes an evaluation's alerts: firing ones join (or stay in) their groups; resolved ones are marked resolved there. */
  ingest(alerts: Alert[], nowMs: number): void {
    for (const alert of alerts) {
      for (const route of routesFor(this.root, alert.labels)) {
        const groupLabels = route.groupBy.includes("...")
          ? alert.labels
          : Object.fromEntries(route.groupBy.filter((l) => l in alert.labels).map((l) => [l, alert.labels[l]!]));
        const key = `${route.id}:{${Object.keys(groupLabels)
          .sort()
          .map((k) => `${k}=${JSON.stringify(groupLabels[k])}`)
          .join(",")}}`;
        let group = this.groups.get(key);
        if (!group) {
          if (alert.state === "resolved" && !this.delivered.get(key)?.notified.has(alert.fingerprint)) continue;
          const before = this.delivered.get(key);
          this.delivered.delete(key);
          group = {
            key,
            route,
            labels: groupLabels,
            alerts: new Map(),
            createdAt: nowMs,
            lastFlushAt: before?.sentAt,
            lastSentAt: before?.sentAt,
            notified: before?.notified ?? new Set(),
            suppressed: new Set(),
          };
          this.groups.set(key, group);
        }
        group.alerts.set(alert.fingerprint, alert);
      }
    }
  }

  /** The notifications due at `nowMs`, and the alerts newly kept out of them. */
  due(nowMs: number): { notifications: Notification[]; suppressed: Suppression[] } {
    const notifications: Notification[] = [];
    const suppressed: Suppression[] = [];
    const firing = [...this.groups.values()].flatMap((g) => [...g.alerts.values()]).filter((a) => a.state === "firing");
    for (const group of [...this.groups.values()]) {
      const { route } = group;
      const checkAt = group.lastFlushAt === undefined ? group.createdAt + route.groupWaitMs : group.lastFlushAt + route.groupIntervalMs;
      if (nowMs < checkAt) continue;
      group.lastFlushAt = nowMs;

      const sendable: Alert[] = [];
      for (const alert of group.alerts.values()) {
        const reason = this.suppressionOf(alert, firing, nowMs);
        if (reason === undefined) {
          group.suppressed.delete(alert.fingerprint);
          sendable.push(alert);
        } else if (!group.suppressed.has(alert.fingerprint)) {
          group.suppressed.add(alert.fingerprint);
          suppressed.push({ alert, receiver: route.receiver, groupKey: group.key, reason });
        }
      }
      // A resolution is news only for an alert this group announced firing.
      const announced = sendable.filter((a) => a.state === "firing" || group.notified.has(a.fingerprint));
      const sendResolved = this.options.sendResolved(route.receiver);
      const visible = sendResolved ? announced : announced.filter((a) => a.state === "firing");
      const newlyFiring = visible.some((a) => a.state === "firing" && !group.notified.has(a.fingerprint));
      const newlyResolved = sendResolved && visible.some((a) => a.state === "resolved");
      const repeat = group.lastSentAt !== undefined && nowMs - group.lastSentAt >= route.repeatIntervalMs && visible.some((a) => a.state === "firing");
      if (visible.length > 0 && (newlyFiring || newlyResolved || repeat)) {
        notifications.push({ receiver: route.receiver, groupKey: group.key, payload: this.payload(group, visible) });
        group.lastSentAt = nowMs;
      }
      group.notified = new Set(visible.filter((a) => a.state === "firing").map((a) => a.fingerprint));
      for (const alert of [...group.alerts.values()]) if (alert.state === "resolved") group.alerts.delete(alert.fingerprint);
      if (group.alerts.size === 0) this.groups.delete(group.key);
    }
    return { notifications, suppressed };
  }

  private suppressionOf(alert: Alert, firing: Alert[], nowMs: number): string | undefined {
    const silence = silencing(this.silences, alert.labels, nowMs);
    if (silence) return `silenced by ${silence.id}`;
    if (alert.state !== "firing") return undefined;
    for (const rule of this.inhibitRules) {
      if (!matches(alert.labels, rule.target)) continue;
      const source = firing.find(
        (s) =>
          s.fingerprint !== alert.fingerprint && matches(s.labels, rule.source) && rule.equal.every((l) => (s.labels[l] ?? "") === (alert.labels[l] ?? "")),
      );
      if (source) return `inhibited by ${source.fingerprint} (${source.labels.alertname ?? ""})`;
    }
    return undefined;
  }

  private payload(group: Group, alerts: Alert[]): WebhookPayload {
    const max = this.options.maxAlerts(group.route.receiver);
    const sent = max > 0 ? alerts.slice(0, max) : alerts;
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      version: "4",
      groupKey: group.key,
      truncatedAlerts: alerts.length - sent.length,
      status: alerts.some((a) => a.state === "firing") ? "firing" : "resolved",
      receiver: group.route.receiver,
      groupLabels: group.labels,
      commonLabels: commonLabels(alerts.map((a) => a.labels)),
      commonAnnotations: commonLabels(alerts.map((a) => a.annotations)),
      externalURL: this.options.externalUrl,
      alerts: sent.map((a) => ({
        status: a.state,
        labels: a.labels,
        annotations: a.annotations,
        startsAt: iso(a.startsAt),
        endsAt: a.endsAt === undefined ? ZERO_TIME : iso(a.endsAt),
        generatorURL: `${this.options.externalUrl}/alerts?fingerprint=${a.fingerprint}`,
        fingerprint: a.fingerprint,
      })),
    };
  }
}

import { formatDuration } from "@vigil/config";
import { type StoreEngine, readActiveAlerts, saveAlertChanges } from "@vigil/store";
import { type AlertCause, splitCause, withCause } from "./alert-cause.js";
import { anomalySamples } from "./anomaly.js";
import { type Labels, expandTemplate, fingerprint } from "./alert-labels.js";
import { type AlertRule, compare } from "./rules.js";
import { type Sample, sampleMetric } from "./signals.js";
import { type BurnRateAlert, type Slo, alertBurn, burnRateAlerts } from "./slo.js";
import { type RolloutRule, rolloutSeries } from "../rollout/rollout-alerts.js";

export type AlertState = "pending" | "firing" | "resolved" | "inactive";

/** An alert as notifiers see it: firing, or resolved in this evaluation. */
export interface Alert {
  fingerprint: string;
  rule: string;
  labels: Labels;
  annotations: Labels;
  state: "firing" | "resolved";
  value: number;
  startsAt: number;
  endsAt?: number;
}

interface Tracked {
  fingerprint: string;
  rule: string;
  labels: Labels;
  annotations: Labels;
  state: "pending" | "firing";
  value: number;
  cause: AlertCause | undefined;
  /** Pending: when the condition started holding. Firing: when it fired. */
  since: number;
}

/** A rule the evaluator runs: configured threshold and anomaly rules, the burn-rate pairs generated from SLOs, and the built-in rollout rules. */
export type EvaluatedRule = AlertRule | { type: "burn_rate"; name: string; slo: Slo; alert: BurnRateAlert; labels: Labels; annotations: Labels } | RolloutRule;

/** The burn-rate rules of an SLO: one per window pair, named SLOBurnRate, labelled with the SLO and its windows. */
export function sloRules(slo: Slo): EvaluatedRule[] {
  return burnRateAlerts(slo).map((alert) => ({
    type: "burn_rate" as const,
    name: "SLOBurnRate",
    slo,
    alert,
    labels: { slo: slo.name, long_window: formatDuration(alert.longMs), short_window: formatDuration(alert.shortMs) },
    annotations: {
      summary: `SLO ${slo.name} is burning its error budget {{ $value }}x the budget rate over ${formatDuration(alert.longMs)} (threshold ${alert.factor}x)`,
      description: `${slo.indicator} of model ${slo.model}: burn rate {{ $value }} over the last ${formatDuration(alert.longMs)} and above ${alert.factor} over the last ${formatDuration(alert.shortMs)} (objective ${slo.objective} over ${formatDuration(slo.windowMs)})`,
    },
  }));
}

interface Firing {
  labels: Labels;
  value: number;
  cause: AlertCause | undefined;
}

/** The cause of a value: the rule's condition and the window the value came from, when the sample says. */
const causeOf = (condition: Pick<AlertCause, "metric" | "op" | "threshold">, window: Sample["window"]): AlertCause | undefined =>
  window && { ...condition, windowStartMs: window.startMs, windowEndMs: window.endMs };

const ANOMALY_OP = { up: ">", down: "<", both: "outside ±" } as const;

/** The label sets (with values) for which a rule's condition holds now. */
async function activeSeries(engine: StoreEngine, rule: EvaluatedRule, nowMs: number): Promise<Firing[]> {
  switch (rule.type) {
    case "threshold": {
      const samples: Sample[] = await sampleMetric(engine, rule.metric as Parameters<typeof sampleMetric>[1], rule.scope, nowMs, rule.range);
      return samples
        .filter((s) => compare(s.value, rule.op, rule.threshold))
        .map((s) => ({ labels: s.labels, value: s.value, cause: causeOf({ metric: rule.metric, op: rule.op, threshold: rule.threshold }, s.window) }));
    }
    case "anomaly": {
      const samples = await anomalySamples(engine, { metric: rule.metric, scope: rule.scope, baselineMs: rule.baseline, minPoints: rule.min_points }, nowMs);
      return samples
        .filter((s) =>
          rule.direction === "up" ? s.value > rule.threshold : rule.direction === "down" ? s.value < -rule.threshold : Math.abs(s.value) > rule.threshold,
        )
        .map((s) => ({
          labels: { ...s.labels, minute: new Date(s.minute).toISOString().slice(11, 16), current: String(s.current), median: String(s.median) },
          value: s.value,
          cause: causeOf(
            { metric: `z_score(${rule.metric})`, op: ANOMALY_OP[rule.direction], threshold: rule.direction === "down" ? -rule.threshold : rule.threshold },
            { startMs: s.minute, endMs: s.minute + 60_000 },
          ),
        }));
    }
    case "burn_rate": {
      const { slo, alert } = rule;
      const { long, firing } = await alertBurn(engine, slo, alert, nowMs);
      // sloEvents counts the complete minutes, so the long window is whole minutes too.
      const endMs = Math.floor(nowMs / 60_000) * 60_000;
      const window = { startMs: Math.floor((nowMs - alert.longMs) / 60_000) * 60_000, endMs };
      return firing
        ? [
            {
              labels: { model: slo.model, ...(slo.version ? { version: slo.version } : {}) },
              value: long,
              cause: causeOf({ metric: "burn_rate", op: ">", threshold: alert.factor }, window),
            },
          ]
        : [];
    }
    case "rollout":
      return (await rolloutSeries(engine, rule, nowMs)).map((s) => ({ ...s, cause: undefined }));
  }
}

/** Labels that describe an anomaly but must not split its identity. */
const DESCRIPTIVE = new Set(["minute", "current", "median", "reason"]);

export interface EvaluatorHealth {
  evaluations: number;
  ruleFailures: Record<string, string>;
  lastEvaluationAt: number | undefined;
}

/**
 * Runs alert rules and keeps each alert's state: inactive → pending (condition holds) → firing
 * (held for the rule's `for`) → resolved (no longer holds); a pending alert whose condition
 * lapses goes back to inactive. Every change is a row in `alerts`, and the state is read back
 * from there on start, so a restart neither forgets a firing alert nor restarts its `for` clock.
 * A rule whose query fails keeps its alerts as they were.
 */
export class AlertEvaluator {
  private readonly tracked = new Map<string, Tracked>();
  private readonly state: EvaluatorHealth = { evaluations: 0, ruleFailures: {}, lastEvaluationAt: undefined };

  constructor(
    private readonly engine: StoreEngine,
    private readonly rules: EvaluatedRule[],
  ) {}

  health(): EvaluatorHealth {
    return { ...this.state, ruleFailures: { ...this.state.ruleFailures } };
  }

  /** Alerts pending or firing now. */
  current(): Array<Tracked> {
    return [...this.tracked.values()].map((t) => ({ ...t }));
  }

  /** Reads the pending and firing alerts the previous process left. */
  async restore(): Promise<number> {
    const rows = await readActiveAlerts(this.engine);
    for (const r of rows) {
      const { annotations, cause } = splitCause(r.annotations);
      this.tracked.set(r.fingerprint, {
        fingerprint: r.fingerprint,
        rule: r.rule,
        labels: r.labels,
        annotations,
        state: r.state as Tracked["state"],
        value: r.value,
        cause,
        since: r.startsAtMs,
      });
    }
    return rows.length;
  }

  /** One evaluation of every rule at `nowMs`; returns the firing alerts and those resolved now. */
  async evaluate(nowMs = Date.now()): Promise<Alert[]> {
    const changes: Array<{ alert: Tracked; state: AlertState; endsAt?: number }> = [];
    const resolved: Alert[] = [];
    const seen = new Set<string>();
    const failedRules = new Set<string>();
    for (const rule of this.rules) {
      const ruleKey = rule.type === "burn_rate" ? `${rule.name}:${rule.slo.name}:${formatDuration(rule.alert.longMs)}` : rule.name;
      let firing: Firing[];
      try {
        firing = await activeSeries(this.engine, rule, nowMs);
        delete this.state.ruleFailures[ruleKey];
      } catch (error) {
        this.state.ruleFailures[ruleKey] = (error as Error).message;
        failedRules.add(rule.name);
        continue;
      }
      const severity = rule.type === "burn_rate" ? rule.alert.severity : rule.severity;
      for (const f of firing) {
        const identity: Labels = {
          alertname: rule.name,
          severity,
          ...rule.labels,
          ...Object.fromEntries(Object.entries(f.labels).filter(([k]) => !DESCRIPTIVE.has(k))),
        };
        const fp = fingerprint(identity);
        seen.add(fp);
        const annotations = Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, expandTemplate(v, { ...identity, ...f.labels }, f.value)]));
        const forMs = rule.type === "burn_rate" || rule.type === "rollout" ? 0 : rule.for;
        const existing = this.tracked.get(fp);
        if (!existing) {
          const alert: Tracked = {
            fingerprint: fp,
            rule: rule.name,
            labels: identity,
            annotations,
            state: forMs === 0 ? "firing" : "pending",
            value: f.value,
            cause: f.cause,
            since: nowMs,
          };
          this.tracked.set(fp, alert);
          changes.push({ alert, state: alert.state });
        } else {
          Object.assign(existing, { value: f.value, annotations, cause: f.cause });
          if (existing.state === "pending" && nowMs - existing.since >= forMs) {
            Object.assign(existing, { state: "firing", since: nowMs });
            changes.push({ alert: existing, state: "firing" });
          }
        }
      }
    }
    for (const [fp, alert] of this.tracked) {
      if (seen.has(fp) || failedRules.has(alert.rule)) continue;
      this.tracked.delete(fp);
      if (alert.state === "pending") {
        changes.push({ alert, state: "inactive" });
      } else {
        changes.push({ alert, state: "resolved", endsAt: nowMs });
        resolved.push({ ...this.toAlert(alert), state: "resolved", endsAt: nowMs });
      }
    }
    await this.record(changes, nowMs);
    this.state.evaluations++;
    this.state.lastEvaluationAt = nowMs;
    return [...[...this.tracked.values()].filter((t) => t.state === "firing").map((t) => this.toAlert(t)), ...resolved];
  }

  private toAlert(t: Tracked): Alert {
    return { fingerprint: t.fingerprint, rule: t.rule, labels: t.labels, annotations: t.annotations, state: "firing", value: t.value, startsAt: t.since };
  }

  private async record(changes: Array<{ alert: Tracked; state: AlertState; endsAt?: number }>, nowMs: number): Promise<void> {
    await saveAlertChanges(
      this.engine,
      changes.map(({ alert, state, endsAt }) => ({
        fingerprint: alert.fingerprint,
        rule: alert.rule,
        labels: alert.labels,
        annotations: withCause(alert.annotations, alert.cause),
        state,
        value: alert.value,
        startsAtMs: alert.since,
        endsAtMs: endsAt ?? null,
        changedAtMs: nowMs,
      })),
    );
  }
}

import { type StoreEngine, readDeliveredNotifications } from "@vigil/store";
import { Counter, Gauge, type Registry } from "prom-client";
import { PeriodicTask } from "../periodic.js";
import { AlertmanagerPusher } from "./alertmanager.js";
import type { AlertingConfig } from "./alerting-config.js";
import { Dispatcher, type Route, type WebhookPayload, longestRepeatInterval } from "./dispatcher.js";
import { type Alert, AlertEvaluator, type EvaluatedRule, sloRules } from "./evaluator.js";
import { listSilences } from "./silences.js";
import { rolloutRules } from "../rollout/rollout-alerts.js";
import { WebhookSender } from "./webhook.js";

export interface AlertingHooks {
  registry?: Registry;
  onError: (error: Error) => void;
  /** Called after each evaluation with the firing and just-resolved alerts. */
  onEvaluation?: (alerts: Alert[]) => void;
}

/**
 * Alert rules, SLO burn-rate alerts, notifications and the optional Alertmanager push, on
 * their cadences: rules every evaluation_interval, notification timing every second, webhook
 * retries every second.
 */
export class Alerting {
  readonly evaluator: AlertEvaluator;
  readonly sender: WebhookSender | undefined;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly pusher: AlertmanagerPusher | undefined;
  private readonly tasks: PeriodicTask[];
  private readonly route: Route;
  private readonly metrics: { evaluations: Counter; failures: Counter; firing: Gauge; pending: Gauge } | undefined;

  constructor(
    private readonly engine: StoreEngine,
    config: AlertingConfig,
    private readonly hooks: AlertingHooks,
  ) {
    const rules: EvaluatedRule[] = [...config.rules, ...config.slos.flatMap(sloRules), ...rolloutRules()];
    this.route = config.route;
    this.evaluator = new AlertEvaluator(engine, rules);
    if (config.receivers.length > 0) {
      const receiver = (name: string) => config.receivers.find((r) => r.name === name);
      this.dispatcher = new Dispatcher(config.route, config.inhibitRules, {
        externalUrl: config.externalUrl,
        sendResolved: (name) => receiver(name)?.sendResolved ?? true,
        maxAlerts: (name) => receiver(name)?.maxAlerts ?? 0,
      });
      this.sender = new WebhookSender({ outboxDir: config.outboxDir, receivers: config.receivers, engine, onError: hooks.onError });
    }
    if (config.alertmanager) {
      this.pusher = new AlertmanagerPusher(config.alertmanager.url, {
        externalUrl: config.externalUrl,
        intervalMs: config.evaluationIntervalMs,
        timeoutMs: config.alertmanager.timeoutMs,
      });
    }
    this.tasks = [
      new PeriodicTask(
        () => this.evaluateOnce(),
        config.evaluationIntervalMs,
        (error) => this.fail(error),
      ),
      new PeriodicTask(
        () => this.dispatch(),
        1000,
        (error) => this.fail(error),
      ),
    ];
    const registers = hooks.registry ? [hooks.registry] : undefined;
    this.metrics = registers && {
      evaluations: new Counter({ name: "vigil_alerting_evaluations_total", help: "Alert rule evaluations", registers }),
      failures: new Counter({ name: "vigil_alerting_failures_total", help: "Evaluations, pushes or notifications that failed", registers }),
      firing: new Gauge({ name: "vigil_alerts_firing", help: "Alerts firing now", registers }),
      pending: new Gauge({ name: "vigil_notifications_pending", help: "Webhook deliveries waiting for a 2xx", registers }),
    };
  }

  /**
   * Restores alert state and starts the cadences. A `takeover` (a monitor gaining the lease from
   * another) learns what receivers already accepted from `notifications` rather than from its
   * outbox: whatever its outbox still holds is from an earlier tenure and is dropped, and any
   * notification no receiver accepted is derived again from the alerts, so none is sent twice by
   * two tenures and none is lost with a dead process's outbox.
   */
  async start(options: { takeover?: boolean } = {}): Promise<void> {
    await this.evaluator.restore();
    if (options.takeover && this.dispatcher && this.sender) {
      await this.sender.discardOutbox();
      // Older deliveries cannot hold back anything: a group last notified before that is due a repeat anyway.
      const since = Date.now() - longestRepeatInterval(this.route);
      this.dispatcher.restoreDelivered(
        (await readDeliveredNotifications(this.engine, since)).map((d) => ({ ...d, payload: JSON.parse(d.payload) as WebhookPayload })),
      );
    }
    await this.sender?.open();
    this.sender?.start();
    for (const task of this.tasks) task.start();
  }

  /** One evaluation: rules, then the Alertmanager push and the dispatcher's view of silences and alerts. */
  async evaluateOnce(nowMs = Date.now()): Promise<Alert[]> {
    const alerts = await this.evaluator.evaluate(nowMs);
    this.metrics?.evaluations.inc();
    this.metrics?.firing.set(alerts.filter((a) => a.state === "firing").length);
    if (this.dispatcher) {
      this.dispatcher.setSilences(await listSilences(this.engine));
      this.dispatcher.ingest(alerts, nowMs);
    }
    if (this.pusher) await this.pusher.push(alerts, nowMs).catch((error: unknown) => this.fail(error));
    this.hooks.onEvaluation?.(alerts);
    return alerts;
  }

  /** Queues the notifications that are due and records the suppressed alerts. */
  async dispatch(nowMs = Date.now()): Promise<number> {
    if (!this.dispatcher || !this.sender) return 0;
    const { notifications, suppressed } = this.dispatcher.due(nowMs);
    for (const n of notifications) await this.sender.enqueue(n, nowMs);
    await this.sender.recordSuppressed(suppressed, nowMs);
    this.metrics?.pending.set(this.sender.pendingCount());
    return notifications.length;
  }

  async stop(): Promise<void> {
    for (const task of this.tasks) await task.stop();
    await this.sender?.stop();
  }

  private fail(error: unknown): void {
    this.metrics?.failures.inc();
    this.hooks.onError(error as Error);
  }
}

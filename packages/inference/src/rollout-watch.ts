import { type StoreEngine, listRolloutEvents, saveRolloutEvent } from "@vigil/store";
import type { Logger } from "pino";
import type { ActiveRollout } from "./rollout.js";

/** Without a store a policy is still applied, but nothing records it or can roll it back: say so. */
export function logRolloutWithoutStore(log: Logger, rollout: ActiveRollout): void {
  log.info(
    { model: rollout.model, policy_id: rollout.policyId },
    `rollout of model ${rollout.model} started (no prediction log: no rollout events, no rollbacks)`,
  );
}

/**
 * The rollout side of the process that owns the store: writes a 'started' event when a policy
 * starts being applied, and polls the events so that a policy whose newest event is
 * 'rolled_back' is taken out of traffic. `onRolledBack` receives the ids of every rolled-back
 * policy each time that set changes (a single server applies it; a pool's primary tells its workers).
 */
export class RolloutWatch {
  /** Per model, the policy being applied. */
  private readonly active = new Map<string, ActiveRollout>();
  private rolledBack = new Set<string>();
  /** Starts and polls run one at a time, so N workers reporting one policy write it once. */
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly engine: StoreEngine,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly onRolledBack: (policyIds: string[]) => void,
  ) {}

  /** The ids of the policies rolled back now. */
  rolledBackIds(): string[] {
    return [...this.rolledBack];
  }

  /**
   * A server began applying `rollout`. A policy already rolled back stays so: a restart or a
   * reload of the same settings must not put a candidate the monitor or a person took out back
   * into traffic, so no 'started' is written for it.
   */
  started(rollout: ActiveRollout): Promise<void> {
    return this.serially(async () => {
      if (this.active.get(rollout.model)?.policyId === rollout.policyId) return;
      this.active.set(rollout.model, rollout);
      const fields = { model: rollout.model, policy_id: rollout.policyId, mode: rollout.policy.mode, primary: rollout.primary, candidate: rollout.candidate };
      const [newest] = await listRolloutEvents(this.engine, { model: rollout.model, policyId: rollout.policyId, limit: 1 });
      if (newest?.action === "rolled_back") {
        this.log.warn({ ...fields, reason: newest.reason }, `rollout of model ${rollout.model} was rolled back before; it stays rolled back`);
      } else {
        await saveRolloutEvent(this.engine, {
          timestampMs: Date.now(),
          modelName: rollout.model,
          policyId: rollout.policyId,
          action: "started",
          mode: rollout.policy.mode,
          primaryVersion: String(rollout.primary),
          candidateVersion: String(rollout.candidate),
          actor: "server",
          reason: `${rollout.policy.mode} of version ${rollout.candidate} beside version ${rollout.primary}`,
          policy: JSON.stringify(rollout.policy),
        });
        this.log.info(
          fields,
          `rollout of model ${rollout.model} started: ${rollout.policy.mode} of version ${rollout.candidate} beside version ${rollout.primary}`,
        );
      }
      await this.check();
    });
  }

  /** Polls every interval until stopped. */
  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.queue;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.serially(() => this.check()).finally(() => this.schedule());
    }, this.intervalMs);
  }

  private serially(work: () => Promise<void>): Promise<void> {
    const next = this.queue
      .then(work)
      .catch((error: unknown) => this.log.error({ err: error }, "rollout events could not be read or written; retrying at the next poll"));
    this.queue = next;
    return next;
  }

  /** Reads the newest event of each active policy and tells the new rolled-back set when it changed, then logs what took effect. */
  private async check(): Promise<void> {
    const next = new Set<string>();
    const applied: Array<{ rollout: ActiveRollout; actor: string; reason: string }> = [];
    for (const rollout of this.active.values()) {
      const [newest] = await listRolloutEvents(this.engine, { model: rollout.model, policyId: rollout.policyId, limit: 1 });
      if (newest?.action !== "rolled_back") continue;
      next.add(rollout.policyId);
      if (!this.rolledBack.has(rollout.policyId)) applied.push({ rollout, actor: newest.actor, reason: newest.reason });
    }
    const changed = next.size !== this.rolledBack.size || [...next].some((id) => !this.rolledBack.has(id));
    this.rolledBack = next;
    if (changed) this.onRolledBack([...next]);
    for (const { rollout, actor, reason } of applied) {
      this.log.warn(
        { model: rollout.model, policy_id: rollout.policyId, actor, reason },
        `rollback of model ${rollout.model} applied (by ${actor}: ${reason}); version ${rollout.candidate} leaves traffic`,
      );
    }
  }
}

import { status } from "@grpc/grpc-js";
import type { InferParameter } from "@vigil/proto";
import type { PredictionRole } from "@vigil/store";
import type { Logger } from "pino";
import { asInferenceError } from "./errors.js";
import type { ServerMetrics } from "./metrics.js";
import type { ModelVersion } from "./model-version.js";
import { type PredictionRecorder, type RequestFacts, answeredRows } from "./recorder.js";
import type { ModelRepository } from "./repository.js";
import { type ActiveRollout, decideRoute } from "./rollout.js";
import type { HostTensor } from "./tensors.js";

/** The version that answers a request, its role, and the candidate to shadow it on afterwards. */
export interface Route {
  model: ModelVersion;
  role: PredictionRole;
  shadow?: { candidate: ModelVersion; rollout: ActiveRollout };
}

const now = () => process.hrtime.bigint();

/**
 * Applies the models' rollout policies to requests: picks the version that answers, and runs
 * shadows on the candidate after the primary has answered. Rolled-back policies (told by the
 * process that watches the rollout events) send everything to the primary.
 */
export class RolloutRouter {
  private rolledBack: ReadonlySet<string> = new Set();
  /** Shadow runs waiting or running, per candidate version label. */
  private readonly pendingShadows = new Map<string, number>();

  constructor(
    private readonly repository: ModelRepository,
    private readonly log: Logger,
    private readonly recorder: PredictionRecorder | undefined,
    private readonly metrics: ServerMetrics | undefined,
  ) {}

  /** The ids of the policies now rolled back; logs each one that changes state. */
  setRolledBack(policyIds: Iterable<string>): void {
    const next = new Set(policyIds);
    for (const name of this.repository.modelNames()) {
      const rollout = this.repository.rolloutOf(name);
      if (!rollout || next.has(rollout.policyId) === this.rolledBack.has(rollout.policyId)) continue;
      const fields = { model: name, policy_id: rollout.policyId, primary: rollout.primary, candidate: rollout.candidate };
      if (next.has(rollout.policyId)) this.log.warn(fields, `rollout of model ${name} rolled back: every request goes to version ${rollout.primary}`);
      else this.log.info(fields, `rollout of model ${name} no longer rolled back: version ${rollout.candidate} serves by the policy again`);
    }
    this.rolledBack = next;
  }

  /** The version for a request: the one it names, else the one its model's rollout picks. */
  route(modelName: string, version: string, client: string, parameters: Record<string, InferParameter>): Route {
    const rollout = version === "" ? this.repository.rolloutOf(modelName) : undefined;
    if (!rollout) return { model: this.repository.resolve(modelName, version), role: "primary" };
    // Without a version the repository answers with the rollout's primary; the candidate is looked up only when it serves or shadows.
    const primary = this.repository.resolve(modelName, "");
    const candidate = () => this.repository.resolve(modelName, String(rollout.candidate));
    const decision = decideRoute(rollout, { client, parameters });
    if (this.rolledBack.has(rollout.policyId)) {
      if (decision.shadow) this.metrics?.observeShadowSkipped(modelName, String(rollout.candidate), "rolled_back");
      this.metrics?.observeRollout(modelName, String(rollout.primary), "primary");
      return { model: primary, role: "primary" };
    }
    const model = decision.role === "canary" ? candidate() : primary;
    this.metrics?.observeRollout(modelName, String(model.version), decision.role);
    return { model, role: decision.role, shadow: decision.shadow ? { candidate: candidate(), rollout } : undefined };
  }

  /**
   * Runs the primary's decoded inputs on the candidate, on the candidate's own queue, and logs
   * its rows with role shadow. Never throws and is never awaited by the client's request: the
   * client already has its answer. Beyond shadow_max_queue runs in flight the shadow is skipped.
   */
  shadow(facts: RequestFacts, { candidate, rollout }: NonNullable<Route["shadow"]>, inputs: HostTensor[]): void {
    const label = candidate.label;
    const version = String(candidate.version);
    const pending = this.pendingShadows.get(label) ?? 0;
    if (pending >= rollout.policy.shadow_max_queue) {
      this.metrics?.observeShadowSkipped(candidate.name, version, "queue_full");
      return;
    }
    this.pendingShadows.set(label, pending + 1);
    this.metrics?.observeRollout(candidate.name, version, "shadow");
    // The timestamp stays the client's arrival (the rows pair with the primary's); latency is the shadow's own.
    const shadowFacts: RequestFacts = { ...facts, arrivedNs: now(), role: "shadow" };
    void this.runShadow(shadowFacts, candidate, inputs).finally(() => {
      const left = (this.pendingShadows.get(label) ?? 1) - 1;
      if (left === 0) this.pendingShadows.delete(label);
      else this.pendingShadows.set(label, left);
    });
  }

  private async runShadow(facts: RequestFacts, candidate: ModelVersion, inputs: HostTensor[]): Promise<void> {
    const started = facts.arrivedNs;
    const version = String(candidate.version);
    const fields = { request_id: facts.requestId, model: candidate.label };
    try {
      const result = await candidate.infer(inputs);
      const { rows, nonFinite, nonFiniteRows } = answeredRows(candidate, inputs, result.outputs);
      if (nonFiniteRows > 0) this.metrics?.observeNonFinite(candidate.name, version, nonFiniteRows);
      candidate.stats.recordSuccess(rows, Number(now() - started), result);
      await this.record(fields, candidate, () => this.recorder?.success(facts, candidate, inputs, result.outputs, result, nonFinite));
    } catch (error) {
      const failure = asInferenceError(error);
      candidate.stats.recordFailure(Number(now() - started));
      this.metrics?.observeShadowSkipped(candidate.name, version, "failed");
      this.log.debug({ ...fields, code: status[failure.code], err: failure.message }, "shadow run failed; the client had the primary's answer");
      await this.record(fields, candidate, () => this.recorder?.failure(facts, failure, candidate, version));
    }
  }

  /** A log without room costs the shadow its rows, counted, never the primary anything. */
  private async record(fields: Record<string, string>, candidate: ModelVersion, write: () => Promise<void> | undefined): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.metrics?.observeShadowSkipped(candidate.name, String(candidate.version), "log_full");
      this.log.warn({ ...fields, err: (error as Error).message }, "shadow rows not logged: the prediction log has no room");
    }
  }
}

import { z } from "zod";
import type { StoreEngine } from "../engine.js";
import { countValue, formatDateTime64Millis, insertRows, queryRows } from "./columns.js";

/** Every change of a model's rollout (migrations/0011_rollout.sql). */
export const ROLLOUT_EVENTS = "rollout_events";

/**
 * - started: a server began applying a rollout policy (on load; again after a restart);
 * - rolled_back: the candidate was taken out of traffic (by the monitor's verdict or a person);
 * - promoted: a person made the candidate the primary version.
 */
export const ROLLOUT_ACTIONS = ["started", "rolled_back", "promoted"] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

export interface RolloutEvent {
  /** Epoch milliseconds. */
  timestampMs: number;
  modelName: string;
  /** rolloutPolicyId of the policy the event is about (@vigil/model-repository). */
  policyId: string;
  action: RolloutAction;
  mode: string;
  primaryVersion: string;
  candidateVersion: string;
  /** Who made the change: "server", "monitor", "cli", or a person's name. */
  actor: string;
  /** Why, in words a person on call can act on. */
  reason: string;
  /** The policy's settings as JSON. */
  policy: string;
  /**
   * Epoch milliseconds: the end of the rows a rolled_back or promoted decision rests on (the
   * judged window's end when the monitor decided); the event's own time when not given.
   */
  judgedToMs?: number;
}

const eventColumns = {
  model_name: z.string(),
  policy_id: z.string(),
  action: z.enum(ROLLOUT_ACTIONS),
  mode: z.string(),
  primary_version: z.string(),
  candidate_version: z.string(),
  actor: z.string(),
  reason: z.string(),
  policy: z.string(),
};

export async function saveRolloutEvent(engine: StoreEngine, event: RolloutEvent): Promise<void> {
  await insertRows(engine, ROLLOUT_EVENTS, [
    {
      timestamp: formatDateTime64Millis(event.timestampMs),
      model_name: event.modelName,
      policy_id: event.policyId,
      action: event.action,
      mode: event.mode,
      primary_version: event.primaryVersion,
      candidate_version: event.candidateVersion,
      actor: event.actor,
      reason: event.reason,
      policy: event.policy,
      judged_to: formatDateTime64Millis(event.judgedToMs ?? event.timestampMs),
    },
  ]);
}

const eventReadSchema = z.object({ ...eventColumns, timestamp_ms: countValue, judged_to_ms: countValue }).transform(
  (r): RolloutEvent => ({
    timestampMs: r.timestamp_ms,
    modelName: r.model_name,
    policyId: r.policy_id,
    action: r.action,
    mode: r.mode,
    primaryVersion: r.primary_version,
    candidateVersion: r.candidate_version,
    actor: r.actor,
    reason: r.reason,
    policy: r.policy,
    judgedToMs: r.judged_to_ms,
  }),
);

/** A model's rollout events ('' for every model), oldest first; only one policy's when `policyId` is given. */
export function listRolloutEvents(engine: StoreEngine, filter: { model: string; policyId?: string; limit?: number }): Promise<RolloutEvent[]> {
  return queryRows(
    engine,
    eventReadSchema,
    `SELECT * FROM (
       SELECT toUnixTimestamp64Milli(timestamp) AS timestamp_ms, model_name, policy_id, action, mode, primary_version, candidate_version, actor, reason, policy,
              toUnixTimestamp64Milli(judged_to) AS judged_to_ms
       FROM ${ROLLOUT_EVENTS}
       WHERE ({model:String} = '' OR model_name = {model:String}) AND ({policy:String} = '' OR policy_id = {policy:String})
       ORDER BY timestamp DESC LIMIT {limit:UInt32}
     ) ORDER BY timestamp_ms`,
    { model: filter.model, policy: filter.policyId ?? "", limit: filter.limit ?? 1000 },
  );
}

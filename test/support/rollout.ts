import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { type RolloutPolicy, rolloutPolicyId } from "@vigil/model-repository";
import { LABELS, type LabelRecord, PREDICTIONS, type PredictionRole, type RolloutEvent, type StoreEngine, labelRow, predictionRow } from "@vigil/store";
import { predictionRecord } from "./store.js";

/** A seeded generator of uniform numbers in [0, 1) (a linear congruential one), so synthetic traffic is the same every run. */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** One synthetic prediction row of a rollout, with its label when it has one. */
export interface RolloutRow {
  requestId: string;
  rowIndex?: number;
  timestampUs: number;
  version: string;
  role: PredictionRole;
  prediction: string;
  label?: string;
  status?: string;
  latencyUs: number;
}

/** Writes rows (and their labels, once per request row) straight into the store, as the server and the label API would. */
export async function insertRolloutRows(engine: StoreEngine, model: string, rows: RolloutRow[]): Promise<void> {
  const predictions = rows.map((r, i) =>
    predictionRow(
      predictionRecord(i, {
        modelName: model,
        requestId: r.requestId,
        rowIndex: r.rowIndex ?? 0,
        timestampUs: r.timestampUs,
        modelVersion: r.version,
        role: r.role,
        prediction: r.prediction,
        status: r.status ?? "OK",
        latencyUs: r.latencyUs,
      }),
    ),
  );
  await engine.insertJsonLines(PREDICTIONS, Buffer.from(`${predictions.map((p) => JSON.stringify(p)).join("\n")}\n`));
  const labelled = new Map<string, LabelRecord>();
  for (const r of rows) {
    if (r.label === undefined) continue;
    const key = `${r.requestId}\u0000${r.rowIndex ?? 0}`;
    labelled.set(key, {
      requestId: r.requestId,
      rowIndex: r.rowIndex ?? 0,
      modelName: model,
      label: r.label,
      timestampUs: r.timestampUs + 1_000_000,
      source: "test",
    });
  }
  if (labelled.size > 0) {
    const lines = [...labelled.values()].map((l) => JSON.stringify(labelRow(l))).join("\n");
    await engine.insertJsonLines(LABELS, Buffer.from(`${lines}\n`));
  }
}

/** The 'started' event a server writes when it applies a policy. */
export function startedEvent(model: string, policy: RolloutPolicy, primaryVersion: string, atMs: number): RolloutEvent {
  return {
    timestampMs: atMs,
    modelName: model,
    policyId: rolloutPolicyId(model, policy),
    action: "started",
    mode: policy.mode,
    primaryVersion,
    candidateVersion: String(policy.candidate),
    actor: "server",
    reason: "",
    policy: JSON.stringify(policy),
  };
}

/** A rollout policy with the defaults config.json fills in. */
export function rolloutPolicy(settings: Partial<RolloutPolicy> & Pick<RolloutPolicy, "mode" | "candidate">): RolloutPolicy {
  return { shadow_share: 1, shadow_max_queue: 256, canary_weight: 0.1, auto_rollback: true, significance: 0.05, ...settings };
}

/** What test/python/rollout_reference.py answers: scipy's and statsmodels' figures for each case. */
export interface RolloutReference {
  wilson: Array<{ low: number; high: number }>;
  mcnemar: Array<{ p: number; difference: number; low: number; high: number }>;
  two_proportion: Array<{ z: number; p: number; low: number; high: number }>;
  mann_whitney: Array<{ u: number; p: number; rank_sum: number; tie_sum: number }>;
  percentiles: Array<[number, number, number]>;
}

/** Asks Debian's python3 (with python3-scipy and python3-statsmodels) for the reference figures of every case. */
export function rolloutReference(cases: Record<string, unknown[]>): RolloutReference {
  const output = execFileSync("/usr/bin/python3", [join(import.meta.dirname, "..", "python", "rollout_reference.py")], {
    input: JSON.stringify(cases),
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(output.toString()) as RolloutReference;
}

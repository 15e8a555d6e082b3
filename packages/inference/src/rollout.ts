import { createHash } from "node:crypto";
import type { RolloutPolicy } from "@vigil/model-repository";
import { rolloutPolicyId } from "@vigil/model-repository";
import type { InferParameter } from "@vigil/proto";

/** A rollout policy with its versions resolved against what the version policy loaded. */
export interface ActiveRollout {
  model: string;
  policy: RolloutPolicy;
  policyId: string;
  primary: number;
  candidate: number;
}

/**
 * Resolves a model's rollout against the versions its version policy chose. Throws, naming the
 * loaded versions, when the policy names a version that would not be loaded: serving it would
 * silently send the rollout's traffic elsewhere.
 */
export function resolveRollout(model: string, policy: RolloutPolicy, loaded: number[]): ActiveRollout {
  const listed = [...loaded].sort((a, b) => a - b);
  const shown = listed.join(", ") || "none";
  const missing = (role: string, version: number) =>
    new Error(
      `rollout of model "${model}" names version ${version} as its ${role}, but the version_policy loads only version${listed.length === 1 ? "" : "s"} ${shown}; ` +
        `make the version_policy load both versions (for example "version_policy": {"specific": [...]}) or change the rollout`,
    );
  if (!listed.includes(policy.candidate)) throw missing("candidate", policy.candidate);
  let primary = policy.primary;
  if (primary === undefined) {
    primary = listed.filter((v) => v !== policy.candidate).at(-1);
    if (primary === undefined) {
      throw new Error(
        `rollout of model "${model}" needs a primary version besides candidate ${policy.candidate}, but the version_policy loads only version ${shown}; load a second version`,
      );
    }
  } else if (!listed.includes(primary)) throw missing("primary", primary);
  return { model, policy, policyId: rolloutPolicyId(model, policy), primary, candidate: policy.candidate };
}

/**
 * Where one key falls in [0, 1) for one policy: a hash of both, so a client keeps its version
 * for the life of a policy, and a new policy (another id) draws its canary group afresh.
 */
export function stickyPoint(policyId: string, key: string): number {
  const digest = createHash("sha256").update(policyId).update("\0").update(key).digest();
  // 48 bits fit a double exactly.
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** A request parameter's value as text, whatever its type; undefined when it carries none. */
export function parameterText(parameter: InferParameter | undefined): string | undefined {
  if (!parameter) return undefined;
  const value = parameter.stringParam ?? parameter.int64Param ?? parameter.uint64Param ?? parameter.doubleParam ?? parameter.boolParam;
  return value === undefined ? undefined : String(value);
}

/** What a request without a version is answered by, and whether the candidate also runs it as a shadow. */
export interface RolloutDecision {
  role: "primary" | "canary";
  shadow: boolean;
}

export interface RoutedRequest {
  client: string;
  parameters: Record<string, InferParameter>;
}

const PRIMARY_ONLY: RolloutDecision = { role: "primary", shadow: false };

/**
 * The routing rule for one request that names no version. Canary: the candidate answers when the
 * request's point falls below canary_weight; the point is random per request, or the sticky
 * key's stickyPoint (a request without the sticky parameter goes to the primary). Shadow: the
 * primary answers and, for shadow_share of requests at random, the candidate runs too.
 */
export function decideRoute(rollout: ActiveRollout, request: RoutedRequest, random: () => number = Math.random): RolloutDecision {
  const policy = rollout.policy;
  if (policy.mode === "shadow") return { role: "primary", shadow: random() < policy.shadow_share };
  if (policy.sticky === undefined) return { role: random() < policy.canary_weight ? "canary" : "primary", shadow: false };
  const key = policy.sticky === "client" ? request.client : parameterText(request.parameters[policy.sticky.parameter]);
  if (key === undefined) return PRIMARY_ONLY;
  return { role: stickyPoint(rollout.policyId, key) < policy.canary_weight ? "canary" : "primary", shadow: false };
}

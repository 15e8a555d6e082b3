import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import { type RolloutPolicy, modelConfigSchema } from "@vigil/model-repository";
import { decideRoute, parameterText, resolveRollout, stickyPoint } from "./rollout.js";

/** A policy with the config's defaults filled in, as a loaded config.json holds it. */
function policy(fields: Record<string, unknown>): RolloutPolicy {
  const config = modelConfigSchema.parse({
    inputs: [{ name: "x", datatype: "FP32", dims: [1] }],
    outputs: [{ name: "y", datatype: "FP32", dims: [1] }],
    rollout: { candidate: 2, ...fields },
  });
  return config.rollout!;
}

/** Sequence of numbers a decision draws instead of Math.random. */
const draws =
  (...values: number[]) =>
  () =>
    values.shift() ?? 0;

/** Binomial share check: |share - p| within `sigmas` standard deviations of n draws. */
function assertShare(hits: number, n: number, p: number, sigmas: number): void {
  const tolerance = sigmas * Math.sqrt((p * (1 - p)) / n);
  assert.ok(Math.abs(hits / n - p) <= tolerance, `share ${hits / n} is more than ${sigmas} sigma (${tolerance}) from ${p}`);
}

describe("rollout routing", () => {
  test("the sticky point is sha256(policy id, NUL, key)'s first 48 bits, as Python's hashlib computes it", () => {
    const keys = ["10.0.0.7", "client-42", "", "ünïcode"];
    const script = `import hashlib, json, sys
print(json.dumps([int.from_bytes(hashlib.sha256(("p1\\0" + k).encode()).digest()[:6], "big") / 2**48 for k in json.load(sys.stdin)]))`;
    const expected = JSON.parse(execFileSync("/usr/bin/python3", ["-c", script], { input: JSON.stringify(keys) }).toString()) as number[];
    assert.deepEqual(
      keys.map((k) => stickyPoint("p1", k)),
      expected,
    );
  });

  test("sticky canary: a key always gets one version, the share of keys is canary_weight, a new policy draws afresh", () => {
    const rollout = resolveRollout("m", policy({ mode: "canary", canary_weight: 0.2, sticky: "client" }), [1, 2]);
    const n = 20_000;
    let hits = 0;
    const canaries = new Set<number>();
    for (let i = 0; i < n; i++) {
      const first = decideRoute(rollout, { client: `c${i}`, parameters: {} });
      assert.deepEqual(decideRoute(rollout, { client: `c${i}`, parameters: {} }), first);
      if (first.role === "canary") {
        hits++;
        canaries.add(i);
      }
    }
    assertShare(hits, n, 0.2, 4.5);
    const other = resolveRollout("m", policy({ mode: "canary", canary_weight: 0.2, sticky: "client", significance: 0.01 }), [1, 2]);
    const overlap = [...canaries].filter((i) => decideRoute(other, { client: `c${i}`, parameters: {} }).role === "canary").length;
    // Independent draws put about 20% of one group in the other, nowhere near all of it.
    assertShare(overlap, canaries.size, 0.2, 4.5);
  });

  test("sticky by parameter: its value decides, whatever its type; a request without it goes to the primary", () => {
    const rollout = resolveRollout("m", policy({ mode: "canary", canary_weight: 1, sticky: { parameter: "user" } }), [1, 2]);
    assert.equal(decideRoute(rollout, { client: "a", parameters: { user: { stringParam: "u1" } } }).role, "canary");
    assert.equal(decideRoute(rollout, { client: "a", parameters: { user: { int64Param: 7n } } }).role, "canary");
    assert.equal(decideRoute(rollout, { client: "a", parameters: {} }).role, "primary");
    assert.equal(parameterText({ int64Param: 7n }), parameterText({ stringParam: "7" }));
    assert.equal(parameterText({ boolParam: false }), "false");
  });

  test("random canary and shadow share follow the draws", () => {
    const canary = resolveRollout("m", policy({ mode: "canary", canary_weight: 0.3 }), [1, 2]);
    assert.deepEqual(decideRoute(canary, { client: "a", parameters: {} }, draws(0.29)), { role: "canary", shadow: false });
    assert.deepEqual(decideRoute(canary, { client: "a", parameters: {} }, draws(0.3)), { role: "primary", shadow: false });
    const shadow = resolveRollout("m", policy({ mode: "shadow", shadow_share: 0.5 }), [1, 2]);
    assert.deepEqual(decideRoute(shadow, { client: "a", parameters: {} }, draws(0.49)), { role: "primary", shadow: true });
    assert.deepEqual(decideRoute(shadow, { client: "a", parameters: {} }, draws(0.5)), { role: "primary", shadow: false });
  });

  test("versions resolve against what the version policy loads", () => {
    assert.equal(resolveRollout("m", policy({ mode: "shadow" }), [1, 2, 3]).primary, 3);
    assert.equal(resolveRollout("m", policy({ mode: "shadow", primary: 1 }), [1, 2, 3]).primary, 1);
    assert.throws(() => resolveRollout("m", policy({ mode: "shadow" }), [1, 3]), /names version 2 as its candidate.*loads only versions 1, 3/);
    assert.throws(() => resolveRollout("m", policy({ mode: "shadow", primary: 4 }), [1, 2]), /version 4 as its primary.*versions 1, 2/);
    assert.throws(() => resolveRollout("m", policy({ mode: "shadow" }), [2]), /needs a primary version besides candidate 2.*loads only version 2/);
  });
});

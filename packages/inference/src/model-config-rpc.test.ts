import assert from "node:assert/strict";
import { test } from "node:test";
import { configOverrideFields } from "./model-config-rpc.js";

test("a Triton config override maps onto config.json fields, in snake_case or camelCase", () => {
  const snake = configOverrideFields(
    "m",
    JSON.stringify({
      max_batch_size: 16,
      version_policy: { specific: { versions: ["1", "3"] } },
      input: [{ name: "x", data_type: "TYPE_STRING", dims: ["-1"] }],
      dynamic_batching: { preferred_batch_size: [4, 8], max_queue_delay_microseconds: "250", default_queue_policy: { max_queue_size: 64 } },
      instance_group: [
        { kind: "KIND_GPU", count: 2, gpus: [1] },
        { kind: "KIND_GPU", gpus: [1] },
      ],
    }),
  );
  assert.deepEqual(snake, {
    max_batch_size: 16,
    version_policy: { specific: [1, 3] },
    inputs: [{ name: "x", datatype: "BYTES", dims: [-1] }],
    dynamic_batching: { max_queue_delay_us: 250, preferred_batch_sizes: [4, 8] },
    max_queue_size: 64,
    execution: { instances: 3, providers: ["cuda"], cuda_device_id: 1 },
  });
  const camel = configOverrideFields("m", JSON.stringify({ maxBatchSize: 2, dynamicBatching: {}, versionPolicy: { latest: {} } }));
  assert.deepEqual(camel, { max_batch_size: 2, dynamic_batching: { max_queue_delay_us: 0, preferred_batch_sizes: [] }, version_policy: { latest: 1 } });
});

test("what a config override cannot honour is refused, naming it", () => {
  const refused: Array<[unknown, RegExp]> = [
    [{ sequence_batching: {} }, /\(root\): Unrecognized key: "sequence_batching"/],
    [{ platform: "tensorrt_plan" }, /platform: /],
    [{ input: [{ name: "x", data_type: "TYPE_BF16", dims: [1] }] }, /input\[0\]\.data_type: must be a Triton data type Vigil serves/],
    [{ dynamic_batching: { preserve_ordering: true } }, /dynamic_batching: Unrecognized key: "preserve_ordering"/],
    [{ instance_group: [{ kind: "KIND_CPU" }, { kind: "KIND_GPU" }] }, /mixes instance_group kinds \(KIND_CPU, KIND_GPU\)/],
    [{ instance_group: [{ kind: "KIND_GPU", gpus: [0, 1] }] }, /places instances on GPUs 0, 1/],
    [{ name: "other" }, /names model "other" but the load is for "m"/],
  ];
  for (const [override, message] of refused) assert.throws(() => configOverrideFields("m", JSON.stringify(override)), message, JSON.stringify(override));
  assert.throws(() => configOverrideFields("m", "{"), /the "config" parameter is not valid JSON/);
});

test("a config override may carry Vigil's rollout policy as config.json writes it, or null to remove it", () => {
  const rollout = { mode: "canary", candidate: 2, canary_weight: 0.25, sticky: { parameter: "userId" } };
  assert.deepEqual(configOverrideFields("m", JSON.stringify({ rollout })), { rollout });
  assert.deepEqual(configOverrideFields("m", JSON.stringify({ rollout: null })), { rollout: null });
  assert.throws(() => configOverrideFields("m", JSON.stringify({ rollout: "canary" })), /rollout: /);
});

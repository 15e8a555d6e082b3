import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseModelConfig, parseVersion } from "./index.js";

const validModel = {
  max_batch_size: 8,
  inputs: [{ name: "x", datatype: "FP32", dims: [3] }],
  outputs: [{ name: "y", datatype: "FP32", dims: [2] }],
};

describe("model config validation", () => {
  test("defaults are filled in", () => {
    const config = parseModelConfig("m/config.json", validModel);
    assert.deepEqual(config.version_policy, { latest: 1 });
    assert.deepEqual(config.execution.providers, ["cuda", "cpu"]);
    assert.equal(config.max_queue_size, 1024);
    assert.equal(config.dynamic_batching, undefined);
  });

  test("cross-field rules each name their field", () => {
    const attempt = () =>
      parseModelConfig("m/config.json", {
        ...validModel,
        max_batch_size: 0,
        inputs: [...validModel.inputs, { name: "x", datatype: "FP32", dims: [3] }],
        dynamic_batching: { preferred_batch_sizes: [4] },
        classes: ["a", "b", "c"],
        monitored_features: [
          { name: "f", input: "nope", column: 0, kind: "numerical" },
          { name: "g", input: "x", column: 3, kind: "numerical" },
          { name: "h", input: "x", column: 1, kind: "categorical" },
        ],
      });
    assert.throws(attempt, (error: Error) => {
      const expected = [
        '- inputs[1].name: duplicate input name "x"',
        "- dynamic_batching: dynamic batching needs max_batch_size > 0",
        "- dynamic_batching.preferred_batch_sizes[0]: 4 exceeds max_batch_size 0",
        '- monitored_features[0].input: no input named "nope"',
        '- monitored_features[1].column: column 3 is outside input "x" of width 3',
        "- monitored_features[2].categories: a categorical feature needs its categories",
        '- classes: 3 class names for output "y" with 2 classes',
      ];
      for (const line of expected) assert.ok(error.message.includes(line), `missing "${line}" in:\n${error.message}`);
      return error.message.startsWith("m/config.json is invalid:");
    });
  });

  test("unknown fields are refused rather than silently ignored", () => {
    assert.throws(() => parseModelConfig("m", { ...validModel, max_batchsize: 4 }), /\(root\): Unrecognized key: "max_batchsize"/);
  });
});

describe("classes and their deprecated name labels", () => {
  test("labels is read as classes, with a warning", () => {
    const warnings: string[] = [];
    const config = parseModelConfig("m/config.json", { ...validModel, labels: ["a", "b"] }, (w) => warnings.push(w));
    assert.deepEqual(config.classes, ["a", "b"]);
    assert.equal("labels" in config, false);
    assert.deepEqual(warnings, ['m/config.json: "labels" is deprecated, rename it to "classes" (the class names)']);
  });

  test("classes warns about nothing", () => {
    const warnings: string[] = [];
    assert.deepEqual(parseModelConfig("m", { ...validModel, classes: ["a", "b"] }, (w) => warnings.push(w)).classes, ["a", "b"]);
    assert.deepEqual(warnings, []);
  });

  test("both names at once is an error", () => {
    assert.throws(() => parseModelConfig("m", { ...validModel, classes: ["a", "b"], labels: ["a", "b"] }), /- labels: give "classes" only/);
  });

  test("a wrong count under the old name names the old field", () => {
    assert.throws(() => parseModelConfig("m", { ...validModel, labels: ["a"] }), /- labels: 1 class names for output "y" with 2 classes/);
  });

  test("batching mode is eager unless window is asked for; anything else is named", () => {
    const config = (batching: Record<string, unknown>) => parseModelConfig("m/config.json", { ...validModel, dynamic_batching: batching });
    assert.equal(config({}).dynamic_batching?.mode, "eager");
    assert.equal(config({ mode: "window" }).dynamic_batching?.mode, "window");
    assert.throws(() => config({ mode: "lazy" }), /dynamic_batching\.mode/);
  });

  test("max_queue_delay_us is at most a minute (a larger one overflows Node's timers)", () => {
    const config = (delay: number) => parseModelConfig("m/config.json", { ...validModel, dynamic_batching: { max_queue_delay_us: delay } });
    assert.equal(config(60_000_000).dynamic_batching?.max_queue_delay_us, 60_000_000);
    assert.throws(() => config(2 ** 53 - 1), /dynamic_batching\.max_queue_delay_us/);
  });
});

describe("version directories", () => {
  test("positive integers without leading zeros, exact as numbers", () => {
    assert.deepEqual(["1", "42", "999999999999999"].map(parseVersion), [1, 42, 999_999_999_999_999]);
    for (const name of ["0", "01", "-1", "1.5", "v1", "", "99999999999999999999"]) assert.equal(parseVersion(name), undefined, name);
  });
});

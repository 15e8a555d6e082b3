import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadServerConfig, parseModelConfig } from "../src/index.js";

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
        labels: ["a", "b", "c"],
        monitored_features: [
          { name: "f", input: "nope", column: 0, kind: "numerical" },
          { name: "g", input: "x", column: 3, kind: "numerical" },
          { name: "h", input: "x", column: 1, kind: "categorical" },
        ],
      });
    assert.throws(attempt, (error: Error) => {
      const expected = [
        "- inputs[1].name: duplicate input name \"x\"",
        "- dynamic_batching: dynamic batching needs max_batch_size > 0",
        "- dynamic_batching.preferred_batch_sizes[0]: 4 exceeds max_batch_size 0",
        "- monitored_features[0].input: no input named \"nope\"",
        "- monitored_features[1].column: column 3 is outside input \"x\" of width 3",
        "- monitored_features[2].categories: a categorical feature needs its categories",
        "- labels: 3 labels for output \"y\" with 2 classes",
      ];
      for (const line of expected) assert.ok(error.message.includes(line), `missing "${line}" in:\n${error.message}`);
      return error.message.startsWith("m/config.json is invalid:");
    });
  });

  test("unknown fields are refused rather than silently ignored", () => {
    assert.throws(() => parseModelConfig("m", { ...validModel, max_batchsize: 4 }), /\(root\): Unrecognized key: "max_batchsize"/);
  });
});

describe("server config", () => {
  test("environment variables override defaults and are validated", () => {
    const config = loadServerConfig({ env: { VIGIL_GRPC_PORT: "9100", VIGIL_AUTH_TOKENS: "a, b ,", VIGIL_LOG_LEVEL: "debug" } });
    assert.equal(config.port, 9100);
    assert.deepEqual(config.auth_tokens, ["a", "b"]);
    assert.equal(config.log_level, "debug");
    assert.throws(() => loadServerConfig({ env: { VIGIL_GRPC_PORT: "eighty" } }), /- port: .*NaN/);
  });

  test("overrides beat the environment; TLS needs both files", () => {
    assert.equal(loadServerConfig({ env: { VIGIL_GRPC_PORT: "9100" }, overrides: { port: 0 } }).port, 0);
    assert.throws(() => loadServerConfig({ env: { VIGIL_TLS_CERT_FILE: "cert.pem" } }), /- tls.key_file:/);
  });
});

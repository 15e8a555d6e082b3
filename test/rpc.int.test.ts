import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import * as ort from "onnxruntime-node";
import { HealthCheckResponse_ServingStatus, ModelInferRequest } from "@vigil/proto";
import { DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME } from "@vigil/demo-model";
import { SERVER_EXTENSIONS } from "@vigil/inference";
import { status } from "@grpc/grpc-js";
import { rejection, streamAll, unary } from "./support/grpc.js";
import { addDemoModel } from "./support/models.js";
import { FLIGHT_ROWS, bytesOf, contentsRequest, rawFloat32, rawRequest, referenceRun } from "./support/requests.js";
import { type TestServer, serveRepository } from "./support/server.js";

const demoModelFile = join(DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME, "1", "model.onnx");

describe("Open Inference Protocol RPCs against the demo model", () => {
  const served = serveRepository(addDemoModel);
  let t: TestServer;
  let expected: Float32Array;

  before(async () => {
    t = served.server;
    const reference = await referenceRun(demoModelFile, {
      features: new ort.Tensor("float32", Float32Array.from(FLIGHT_ROWS.flat()), [FLIGHT_ROWS.length, 5]),
    });
    expected = reference.probabilities!.data as Float32Array;
  });

  test("ServerLive and ServerReady report a live, ready server", async () => {
    assert.deepEqual(await unary(t.client.serverLive, t.client, {}), { live: true });
    assert.deepEqual(await unary(t.client.serverReady, t.client, {}), { ready: true });
  });

  test("ModelReady: loaded model and version ready, unknown model and version not", async () => {
    assert.equal((await unary(t.client.modelReady, t.client, { name: "flights", version: "" })).ready, true);
    assert.equal((await unary(t.client.modelReady, t.client, { name: "flights", version: "1" })).ready, true);
    assert.equal((await unary(t.client.modelReady, t.client, { name: "flights", version: "7" })).ready, false);
    assert.equal((await unary(t.client.modelReady, t.client, { name: "nope", version: "" })).ready, false);
  });

  test("ServerMetadata names the server and its extensions", async () => {
    const meta = await unary(t.client.serverMetadata, t.client, {});
    assert.equal(meta.name, "vigil");
    assert.match(meta.version, /^\d+\.\d+\.\d+$/);
    assert.deepEqual(meta.extensions, SERVER_EXTENSIONS);
  });

  test("ModelMetadata gives tensors with the batch dimension, platform and serving properties", async () => {
    const meta = await unary(t.client.modelMetadata, t.client, { name: "flights", version: "" });
    assert.equal(meta.name, "flights");
    assert.deepEqual(meta.versions, ["1"]);
    assert.equal(meta.platform, "onnx_onnxv1");
    assert.deepEqual(meta.inputs, [{ name: "features", datatype: "FP32", shape: [-1n, 5n] }]);
    assert.deepEqual(meta.outputs, [{ name: "probabilities", datatype: "FP32", shape: [-1n, 2n] }]);
    assert.deepEqual(JSON.parse(meta.properties.labels!), ["on_time", "delayed"]);
    const features = JSON.parse(meta.properties.monitored_features!) as Array<{ name: string }>;
    assert.deepEqual(
      features.map((f) => f.name),
      ["hour", "weekday", "distance", "origin", "destination"],
    );
    assert.deepEqual(
      JSON.parse(meta.properties.recorded_features!),
      ["hour", "weekday", "distance", "origin", "destination"],
      "names of the prediction rows' features array",
    );
    // The demo config prefers CUDA; on a host without it the fallback must be visible, never silent.
    const fallbacks = JSON.parse(meta.properties.execution_provider_fallbacks!) as string[];
    if (meta.properties.execution_provider === "cpu") assert.match(fallbacks.join(" "), /^cuda: /);
    else assert.equal(meta.properties.execution_provider, "cuda");
    const err = await rejection(unary(t.client.modelMetadata, t.client, { name: "missing", version: "" }));
    assert.equal(err.code, status.NOT_FOUND);
    assert.match(err.details, /model "missing" is not in the repository/);
  });

  test("the CPU fallback is logged as a warning with its reason", () => {
    const warning = t.logs.find((l) => l.msg === "execution provider cuda unavailable for model flights:1");
    const ready = t.logs.find((l) => typeof l.msg === "string" && l.msg.startsWith("model flights:1 ready on"));
    assert.ok(ready, "a ready line is logged");
    if (ready.provider === "cpu") {
      assert.ok(warning, "fallback warning logged");
      assert.equal(warning.level, 40);
      assert.equal(typeof warning.reason, "string");
    }
  });

  test("ModelInfer with typed contents answers in raw_output_contents, as Triton does, equal to onnxruntime's own result", async () => {
    const response = await unary(
      t.client.modelInfer,
      t.client,
      contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [4, 5], contents: { fp32Contents: FLIGHT_ROWS.flat() } }], { id: "req-1" }),
    );
    assert.equal(response.id, "req-1");
    assert.equal(response.modelName, "flights");
    assert.equal(response.modelVersion, "1");
    const [out] = response.outputs;
    assert.equal(out!.name, "probabilities");
    assert.deepEqual(out!.shape, [4n, 2n]);
    assert.equal(out!.contents, undefined, "typed contents are never sent back: Triton's client reads only the raw form");
    assert.deepEqual(rawFloat32(response), expected);
  });

  test("ModelInfer with raw_input_contents answers with raw_output_contents, bit-identical", async () => {
    const response = await unary(
      t.client.modelInfer,
      t.client,
      rawRequest("flights", [{ name: "features", datatype: "FP32", shape: [4, 5], bytes: bytesOf(Float32Array.from(FLIGHT_ROWS.flat())) }]),
    );
    assert.equal(response.outputs[0]!.contents, undefined);
    assert.deepEqual(rawFloat32(response), expected);
    assert.match(response.id, /^[0-9a-f-]{36}$/, "the server assigns a UUID when the client sends no id");
  });

  test("ModelInfer returns only the outputs asked for, and refuses unknown ones", async () => {
    const request = contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: FLIGHT_ROWS[0]! } }]);
    const named = await unary(t.client.modelInfer, t.client, { ...request, outputs: [{ name: "probabilities", parameters: {} }] });
    assert.deepEqual(
      named.outputs.map((o) => o.name),
      ["probabilities"],
    );
    const err = await rejection(unary(t.client.modelInfer, t.client, { ...request, outputs: [{ name: "logits", parameters: {} }] }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /unknown output "logits".*it has probabilities/);
  });

  test("ModelStreamInfer answers each request on the stream, errors as error_message", async () => {
    const responses = await streamAll(t.client, [
      ...FLIGHT_ROWS.map((row, i) =>
        contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: row } }], { id: `s${i}` }),
      ),
      ModelInferRequest.fromPartial({ modelName: "flights", id: "bad" }),
    ]);
    assert.equal(responses.length, FLIGHT_ROWS.length + 1);
    for (let i = 0; i < FLIGHT_ROWS.length; i++) {
      const r = responses.find((x) => x.inferResponse?.id === `s${i}`);
      assert.ok(r, `response for s${i}`);
      assert.equal(r.errorMessage, "");
      assert.deepEqual(rawFloat32(r.inferResponse!), expected.subarray(2 * i, 2 * i + 2));
    }
    const bad = responses.find((x) => x.inferResponse?.id === "bad")!;
    assert.match(bad.errorMessage, /^INVALID_ARGUMENT: request has no inputs/);
  });

  test("ModelStatistics counts successes, failures, inferences and executions", async () => {
    const before = (await unary(t.client.modelStatistics, t.client, { name: "flights", version: "" })).modelStats[0]!;
    await unary(
      t.client.modelInfer,
      t.client,
      contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [3, 5], contents: { fp32Contents: FLIGHT_ROWS.slice(0, 3).flat() } }]),
    );
    await rejection(unary(t.client.modelInfer, t.client, contentsRequest("flights", [{ name: "features", datatype: "FP64", shape: [1, 5] }])));
    const stats = (await unary(t.client.modelStatistics, t.client, { name: "flights", version: "1" })).modelStats[0]!;
    assert.equal(stats.name, "flights");
    assert.equal(stats.version, "1");
    assert.equal(stats.inferenceCount - before.inferenceCount, 3n);
    assert.equal(stats.executionCount - before.executionCount, 1n);
    assert.equal(stats.inferenceStats!.success!.count - before.inferenceStats!.success!.count, 1n);
    assert.equal(stats.inferenceStats!.fail!.count - before.inferenceStats!.fail!.count, 1n);
    assert.ok(stats.inferenceStats!.computeInfer!.ns > 0n);
    assert.ok(stats.batchStats.some((b) => b.batchSize === 3n));
    assert.ok(stats.lastInference > BigInt(Date.now() - 60_000));
    const all = await unary(t.client.modelStatistics, t.client, { name: "", version: "" });
    assert.deepEqual(
      all.modelStats.map((s) => s.name),
      ["flights"],
    );
    const err = await rejection(unary(t.client.modelStatistics, t.client, { name: "nope", version: "" }));
    assert.equal(err.code, status.NOT_FOUND);
  });

  test("RepositoryIndex lists models with version and state", async () => {
    const index = await unary(t.client.repositoryIndex, t.client, { repositoryName: "", ready: false });
    assert.deepEqual(index.models, [{ name: "flights", version: "1", state: "READY", reason: "" }]);
  });

  test("grpc.health.v1 Check reports the server, each model, and unknown names", async () => {
    const check = (service: string) => unary(t.health.check, t.health, { service });
    assert.equal((await check("")).status, HealthCheckResponse_ServingStatus.SERVING);
    assert.equal((await check("inference.GRPCInferenceService")).status, HealthCheckResponse_ServingStatus.SERVING);
    assert.equal((await check("flights")).status, HealthCheckResponse_ServingStatus.SERVING);
    const err = await rejection(check("nope"));
    assert.equal(err.code, status.NOT_FOUND);
  });

  test("grpc.health.v1 Watch streams the current status and each change", async () => {
    const watch = t.health.watch({ service: "flights" });
    const seen: HealthCheckResponse_ServingStatus[] = [];
    const twoUpdates = new Promise<void>((resolve) =>
      watch.on("data", (r: { status: HealthCheckResponse_ServingStatus }) => {
        seen.push(r.status);
        if (seen.length === 1) void unary(t.client.repositoryModelUnload, t.client, { repositoryName: "", modelName: "flights", parameters: {} });
        if (seen.at(-1) === HealthCheckResponse_ServingStatus.NOT_SERVING) resolve();
      }),
    );
    watch.on("error", () => undefined);
    await twoUpdates;
    watch.cancel();
    assert.deepEqual(seen, [HealthCheckResponse_ServingStatus.SERVING, HealthCheckResponse_ServingStatus.NOT_SERVING]);
    await unary(t.client.repositoryModelLoad, t.client, { repositoryName: "", modelName: "flights", parameters: {} });
    assert.equal((await unary(t.health.check, t.health, { service: "flights" })).status, HealthCheckResponse_ServingStatus.SERVING);
  });
});

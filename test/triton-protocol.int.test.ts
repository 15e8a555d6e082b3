import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { before, describe, test } from "node:test";
import { type ClientDuplexStream, type GrpcObject, type ServiceClientConstructor, credentials, loadPackageDefinition, status } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import * as ort from "onnxruntime-node";
import { DataType, type InferParameter, ModelConfig, type ModelInferRequest, ModelInstanceGroup_Kind, type RepositoryModelLoadRequest } from "@vigil/proto";
import { rejection, streamAll, unary } from "./support/grpc.js";
import { addDemoModel, typedModelConfig, typedModelOnnx, writeModel } from "./support/models.js";
import { outputValues } from "./support/outputs.js";
import { FLIGHT_ROWS, bytesOf, contentsRequest, rawFloat32, rawRequest } from "./support/requests.js";
import { type TestServer, serveRepository } from "./support/server.js";

const flightsRequest = (rows: number[][], extra: Partial<ModelInferRequest> = {}) =>
  rawRequest("flights", [{ name: "features", datatype: "FP32", shape: [rows.length, 5], bytes: bytesOf(Float32Array.from(rows.flat())) }], extra);
const typedRequest = (extra: Partial<ModelInferRequest> = {}) =>
  contentsRequest(
    "typed",
    [
      { name: "x", datatype: "FP32", shape: [1, 3], contents: { fp32Contents: [1, 2, 3] } },
      { name: "k", datatype: "INT64", shape: [1, 2], contents: { int64Contents: [1n, 2n] } },
    ],
    extra,
  );
const classification = (count: number): Record<string, InferParameter> => ({ classification: { int64Param: BigInt(count) } });

/** Distance in units in the last place between two float32 values of the same sign. */
function ulps(a: number, b: number): number {
  const bits = new Int32Array(new Float32Array([a, b]).buffer);
  return Math.abs(bits[0]! - bits[1]!);
}

/** Waits for a condition the server reaches on its own (a repository poll), failing with `what` after 20 s. */
async function eventually(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("Triton protocol details: ModelConfig, classification, parameters, streams, reflection", () => {
  const served = serveRepository(async (repository) => {
    await addDemoModel(repository);
    await writeModel(repository, "typed", 1, typedModelOnnx(2), typedModelConfig({ execution: { providers: ["cpu"], instances: 2 } }));
  });
  let t: TestServer;
  const load = (modelName: string, parameters: RepositoryModelLoadRequest["parameters"] = {}) =>
    unary(t.client.repositoryModelLoad, t.client, { repositoryName: "", modelName, parameters });
  const infer = (request: ModelInferRequest) => unary(t.client.modelInfer, t.client, request);
  const modelConfig = (name: string, version = "") => unary(t.client.modelConfig, t.client, { name, version }).then((r) => r.config!);

  before(() => {
    t = served.server;
  });

  test("ModelConfig describes the model as Triton's model_config.proto does, batch dimension left out", async () => {
    const config = await modelConfig("flights");
    assert.equal(config.name, "flights");
    assert.equal(config.platform, "onnxruntime_onnx");
    assert.equal(config.backend, "onnxruntime");
    assert.equal(config.maxBatchSize, 256);
    assert.deepEqual(config.input, [{ name: "features", dataType: DataType.TYPE_FP32, dims: [5n] }]);
    assert.deepEqual(config.output, [{ name: "probabilities", dataType: DataType.TYPE_FP32, dims: [2n] }]);
    assert.deepEqual(config.dynamicBatching, {
      preferredBatchSize: [64, 128, 256],
      maxQueueDelayMicroseconds: 500n,
      defaultQueuePolicy: { maxQueueSize: 4096 },
    });
    assert.deepEqual(config.versionPolicy?.latest, { numVersions: 1 });
    // The demo model prefers CUDA and falls back to the CPU; the instance group names where it runs.
    const metadata = await unary(t.client.modelMetadata, t.client, { name: "flights", version: "" });
    const onGpu = metadata.properties.execution_provider === "cuda";
    assert.deepEqual(config.instanceGroup, [
      { name: "flights", count: 1, gpus: onGpu ? [0] : [], kind: onGpu ? ModelInstanceGroup_Kind.KIND_GPU : ModelInstanceGroup_Kind.KIND_CPU },
    ]);
    assert.equal(config.defaultModelFilename, "model.onnx");

    const typed = await modelConfig("typed", "1");
    assert.deepEqual(
      typed.input.map((i) => [i.name, DataType[i.dataType], i.dims]),
      [
        ["x", "TYPE_FP32", [3n]],
        ["k", "TYPE_INT64", [2n]],
      ],
    );
    assert.equal(typed.dynamicBatching, undefined, "no dynamic batching configured, none reported");
    assert.equal(typed.instanceGroup[0]!.count, 2);
    assert.equal((await rejection(modelConfig("nope"))).code, status.NOT_FOUND);
    assert.equal((await rejection(modelConfig("typed", "7"))).code, status.NOT_FOUND);
  });

  test("ServerMetadata lists the classification and model_configuration extensions", async () => {
    const metadata = await unary(t.client.serverMetadata, t.client, {});
    assert.ok(metadata.extensions.includes("classification"));
    assert.ok(metadata.extensions.includes("model_configuration"));
  });

  test("classification answers BYTES score:index:label, top classes first, per row", async () => {
    const rows = FLIGHT_ROWS.slice(0, 3);
    const scores = rawFloat32(await infer(flightsRequest(rows)));
    const response = await infer(flightsRequest(rows, { outputs: [{ name: "probabilities", parameters: classification(1) }] }));
    assert.equal(response.outputs[0]!.datatype, "BYTES");
    assert.deepEqual(response.outputs[0]!.shape, [3n, 1n]);
    const classes = ["on_time", "delayed"];
    const expected = rows.map((_, row) => {
      const best = scores[2 * row]! >= scores[2 * row + 1]! ? 0 : 1;
      return `${Number(scores[2 * row + best]!.toPrecision(6))}:${best}:${classes[best]}`;
    });
    assert.deepEqual(outputValues(response, "probabilities"), expected);

    const both = outputValues(
      await infer(flightsRequest(rows.slice(0, 1), { outputs: [{ name: "probabilities", parameters: classification(5) }] })),
      "probabilities",
    );
    assert.equal(both.length, 2, "a count over the number of classes returns every class");
    assert.deepEqual(both.map((s) => String(s).split(":").slice(1).join(":")).sort(), ["0:on_time", "1:delayed"]);
    const ranked = both.map((s) => Number(String(s).split(":")[0]));
    assert.ok(ranked[0]! >= ranked[1]!, "highest score first");
  });

  test("classification of a model without classes leaves the label out; other outputs keep their tensors", async () => {
    const response = await infer(
      typedRequest({
        outputs: [
          { name: "x_scaled", parameters: classification(2) },
          { name: "k_next", parameters: {} },
        ],
      }),
    );
    assert.deepEqual(outputValues(response, "x_scaled"), ["6:2", "4:1"]);
    assert.deepEqual(outputValues(response, "k_next"), [2n, 3n]);
    const bad = await rejection(infer(typedRequest({ outputs: [{ name: "x_scaled", parameters: { classification: { stringParam: "two" } } }] })));
    assert.equal(bad.code, status.INVALID_ARGUMENT);
    assert.match(bad.details, /output "x_scaled": parameter "classification" must be a non-negative integer/);
  });

  test("parameters Vigil does not implement are refused, naming them; others pass", async () => {
    const refused: Array<[Record<string, InferParameter>, RegExp]> = [
      [{ priority: { uint64Param: 1n } }, /request parameter "priority" is not supported/],
      [{ timeout: { int64Param: 1000n } }, /request parameter "timeout" is not supported: set a gRPC deadline/],
      [{ sequence_id: { int64Param: 7n } }, /request parameter "sequence_id" is not supported: Vigil serves stateless models/],
      [{ sequence_start: { boolParam: true } }, /"sequence_start"/],
      [{ sequence_end: { boolParam: true } }, /"sequence_end"/],
    ];
    for (const [parameters, message] of refused) {
      const err = await rejection(infer(typedRequest({ parameters })));
      assert.equal(err.code, status.INVALID_ARGUMENT);
      assert.match(err.details, message);
    }
    const shared = typedRequest();
    shared.inputs[0]!.parameters = { shared_memory_region: { stringParam: "input0" } };
    const err = await rejection(infer(shared));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /input "x" sets parameter "shared_memory_region": Vigil does not implement the shared-memory extension/);
    const custom = await infer(typedRequest({ parameters: { my_tag: { stringParam: "a" } } }));
    assert.deepEqual(outputValues(custom, "x_scaled"), [2, 4, 6]);
  });

  test("a stream request with triton_enable_empty_final_response gets its answer marked triton_final_response", async () => {
    const responses = await streamAll(t.client, [
      typedRequest({ id: "flagged", parameters: { triton_enable_empty_final_response: { boolParam: true } } }),
      typedRequest({ id: "plain" }),
    ]);
    const flagged = responses.find((r) => r.inferResponse?.id === "flagged")!.inferResponse!;
    assert.deepEqual(Object.keys(flagged.parameters), ["triton_final_response"]);
    assert.equal(flagged.parameters.triton_final_response!.boolParam, true);
    assert.deepEqual(outputValues(flagged, "x_scaled"), [2, 4, 6]);
    assert.deepEqual(responses.find((r) => r.inferResponse?.id === "plain")!.inferResponse!.parameters, {});
    assert.equal(responses.length, 2, "one answer per request: every Vigil model answers once, so that answer is the final one");
  });

  test("load with a Triton config override applies batching and instances; unknown fields are refused by name", async () => {
    await load("typed", {
      config: {
        stringParam: JSON.stringify({
          name: "typed",
          max_batch_size: 4,
          dynamic_batching: { preferred_batch_size: [2], max_queue_delay_microseconds: "100" },
          instance_group: [{ kind: "KIND_CPU", count: 3 }],
        }),
      },
    });
    const overridden = await modelConfig("typed");
    assert.equal(overridden.maxBatchSize, 4);
    assert.deepEqual(overridden.dynamicBatching?.preferredBatchSize, [2]);
    assert.equal(overridden.dynamicBatching?.maxQueueDelayMicroseconds, 100n);
    assert.equal(overridden.instanceGroup[0]!.count, 3);
    const tooBig = typedRequest();
    for (const input of tooBig.inputs) input.shape[0] = 5n;
    assert.match((await rejection(infer(tooBig))).details, /over the model's max_batch_size 4/);

    const unknown = await rejection(load("typed", { config: { stringParam: JSON.stringify({ optimization: { graph: { level: 1 } } }) } }));
    assert.equal(unknown.code, status.INVALID_ARGUMENT);
    assert.match(unknown.details, /optimization/);
    const otherName = await rejection(load("typed", { config: { stringParam: '{"name":"flights"}' } }));
    assert.match(otherName.details, /names model "flights" but the load is for "typed"/);
    const file = await rejection(load("typed", { "file:1/model.onnx": { bytesParam: Buffer.from("x") } }));
    assert.equal(file.code, status.INVALID_ARGUMENT);
    assert.match(file.details, /load parameter "file:1\/model.onnx" is not supported/);

    await load("typed");
    assert.equal((await modelConfig("typed")).maxBatchSize, 8, "a load without the override reads config.json again");
  });

  test("ModelConfig's own answer, as protobuf JSON, is accepted back as a load override (what model_analyzer sends)", async () => {
    const answered = ModelConfig.toJSON(await modelConfig("flights")) as Record<string, unknown>;
    await load("flights", { config: { stringParam: JSON.stringify({ ...answered, maxBatchSize: 512 }) } });
    const reloaded = await modelConfig("flights");
    assert.equal(reloaded.maxBatchSize, 512);
    assert.deepEqual(reloaded.input, [{ name: "features", dataType: DataType.TYPE_FP32, dims: [5n] }]);
    await load("flights");
    assert.equal((await modelConfig("flights")).maxBatchSize, 256);
  });

  test("server reflection lists every service and describes them without .proto files", async () => {
    const reflectionProto = join(dirname(createRequire(import.meta.url).resolve("@grpc/reflection/package.json")), "build", "proto");
    const definition = loadSync("grpc/reflection/v1/reflection.proto", { includeDirs: [reflectionProto] });
    const reflection = ((loadPackageDefinition(definition).grpc as GrpcObject).reflection as GrpcObject).v1 as GrpcObject;
    const Client = reflection.ServerReflection as ServiceClientConstructor;
    const client = new Client(t.address, credentials.createInsecure());
    type Reply = { listServicesResponse?: { service: Array<{ name: string }> }; fileDescriptorResponse?: { fileDescriptorProto: Buffer[] } };
    const ask = (request: object) =>
      new Promise<Reply>((resolve, reject) => {
        const call = (client as unknown as { serverReflectionInfo(): ClientDuplexStream<object, Reply> }).serverReflectionInfo();
        call.on("data", (reply: Reply) => {
          resolve(reply);
          call.end();
        });
        call.on("error", reject);
        call.write(request);
      });
    try {
      const listed = await ask({ listServices: "" });
      const names = listed.listServicesResponse!.service.map((s) => s.name);
      for (const service of ["inference.GRPCInferenceService", "grpc.health.v1.Health", "vigil.v1.Feedback"])
        assert.ok(names.includes(service), `${service} in ${names}`);
      const described = await ask({ fileContainingSymbol: "inference.GRPCInferenceService" });
      const descriptors = Buffer.concat(described.fileDescriptorResponse!.fileDescriptorProto).toString("latin1");
      assert.match(descriptors, /ModelConfig/);
      assert.match(descriptors, /max_batch_size/, "the imported model_config.proto comes with it, with the .proto's own field names");
    } finally {
      client.close();
    }
  });

  test("batched answers agree with single-row answers to a few ULP; a request run alone is bit-identical", async () => {
    const session = await ort.InferenceSession.create(join(served.repository, "flights", "1", "model.onnx"));
    const rows = Array.from({ length: 64 }, (_, i) => [i % 24, i % 7, 100 + 37 * i, i % 80, (3 * i) % 80]);
    const single: Float32Array[] = [];
    try {
      for (const row of rows)
        single.push((await session.run({ features: new ort.Tensor("float32", Float32Array.from(row), [1, 5]) })).probabilities!.data as Float32Array);
    } finally {
      await session.release();
    }
    const alone = rawFloat32(await infer(flightsRequest(rows.slice(0, 1))));
    assert.deepEqual(alone, single[0], "a batch of one is the single-row answer, bit for bit");
    const batched = rawFloat32(await infer(flightsRequest(rows)));
    let worst = 0;
    for (const [i, expected] of single.entries()) {
      for (let c = 0; c < 2; c++) worst = Math.max(worst, ulps(batched[2 * i + c]!, expected[c]!));
    }
    assert.ok(worst <= 16, `batched answers within 16 ULP of single-row ones (worst ${worst})`);
  });
});

describe("readiness follows the repository: a deleted broken model no longer holds it down", () => {
  const served = serveRepository((repository) => writeModel(repository, "typed", 1, typedModelOnnx(2), typedModelConfig()));
  const ready = () => unary(served.server.client.serverReady, served.server.client, {}).then((r) => r.ready);
  const index = () =>
    unary(served.server.client.repositoryIndex, served.server.client, { repositoryName: "", ready: false }).then((r) => r.models.map((m) => m.name));

  test("after a failed load the server is not ready; deleting the model's directory makes it ready again", async () => {
    const client = served.server.client;
    await mkdir(join(served.repository, "broken", "1"), { recursive: true });
    await writeFile(join(served.repository, "broken", "config.json"), "{ not json");
    assert.equal(
      (await rejection(unary(client.repositoryModelLoad, client, { repositoryName: "", modelName: "broken", parameters: {} }))).code,
      status.FAILED_PRECONDITION,
    );
    assert.equal(await ready(), false);
    await rm(join(served.repository, "broken"), { recursive: true });
    assert.equal(await ready(), true);
    assert.deepEqual(await index(), ["typed"]);
    const load = await rejection(unary(client.repositoryModelLoad, client, { repositoryName: "", modelName: "broken", parameters: {} }));
    assert.equal(load.code, status.NOT_FOUND);
    const unload = await rejection(unary(client.repositoryModelUnload, client, { repositoryName: "", modelName: "broken", parameters: {} }));
    assert.equal(unload.code, status.NOT_FOUND);
  });

  test("a loaded model whose directory is deleted is unloaded and forgotten by its next load or unload", async () => {
    const client = served.server.client;
    await writeModel(served.repository, "doomed", 1, typedModelOnnx(2), typedModelConfig());
    await unary(client.repositoryModelLoad, client, { repositoryName: "", modelName: "doomed", parameters: {} });
    await rm(join(served.repository, "doomed"), { recursive: true });
    assert.deepEqual(await index(), ["doomed", "typed"], "still serving until told otherwise");
    await unary(client.repositoryModelUnload, client, { repositoryName: "", modelName: "doomed", parameters: {} });
    assert.deepEqual(await index(), ["typed"]);
    assert.equal(await ready(), true);
  });
});

describe("poll model-control mode: the repository's contents decide what is loaded", () => {
  const served = serveRepository((repository) => writeModel(repository, "typed", 1, typedModelOnnx(2), typedModelConfig()), {
    model_control_mode: "poll",
    repository_poll_secs: 0.05,
  });
  const modelReady = (name: string, version: string) => unary(served.server.client.modelReady, served.server.client, { name, version }).then((r) => r.ready);
  const serverReady = () => unary(served.server.client.serverReady, served.server.client, {}).then((r) => r.ready);

  test("a new version is loaded, a removed one unloaded, changed files reloaded", async () => {
    await writeModel(served.repository, "typed", 2, typedModelOnnx(3), typedModelConfig());
    await eventually("version 2 is loaded", () => modelReady("typed", "2"));
    assert.equal(await modelReady("typed", "1"), false, "version_policy latest 1: version 1 gave way");
    await rm(join(served.repository, "typed", "2"), { recursive: true });
    await eventually("version 1 is back", () => modelReady("typed", "1"));
    assert.equal(await modelReady("typed", "2"), false);
    await writeModel(served.repository, "typed", 1, typedModelOnnx(7), typedModelConfig());
    await eventually("the changed model file is served", async () => {
      const response = await unary(served.server.client.modelInfer, served.server.client, typedRequest());
      return (outputValues(response, "x_scaled") as number[])[0] === 7;
    });
  });

  test("a new model is loaded; a broken one holds readiness down until its directory is deleted", async () => {
    await writeModel(served.repository, "second", 1, typedModelOnnx(2), typedModelConfig());
    await eventually("the new model is loaded", () => modelReady("second", ""));
    await mkdir(join(served.repository, "broken", "1"), { recursive: true });
    await writeFile(join(served.repository, "broken", "config.json"), "{ not json");
    await eventually("the broken model makes the server not ready", async () => !(await serverReady()));
    await rm(join(served.repository, "broken"), { recursive: true });
    await eventually("readiness recovers", serverReady);
    await rm(join(served.repository, "second"), { recursive: true });
    await eventually("the removed model is unloaded", async () => !(await modelReady("second", "")));
    const names = (await unary(served.server.client.repositoryIndex, served.server.client, { repositoryName: "", ready: false })).models.map((m) => m.name);
    assert.deepEqual(names, ["typed"]);
  });

  test("load and unload requests are refused: the repository decides", async () => {
    const client = served.server.client;
    const err = await rejection(unary(client.repositoryModelLoad, client, { repositoryName: "", modelName: "typed", parameters: {} }));
    assert.equal(err.code, status.FAILED_PRECONDITION);
    assert.match(err.details, /model_control_mode "poll"/);
    assert.equal(
      (await rejection(unary(client.repositoryModelUnload, client, { repositoryName: "", modelName: "typed", parameters: {} }))).code,
      status.FAILED_PRECONDITION,
    );
  });
});

describe("none model-control mode: the models loaded at start-up stay", () => {
  const served = serveRepository((repository) => writeModel(repository, "typed", 1, typedModelOnnx(2), typedModelConfig()), { model_control_mode: "none" });

  test("load and unload requests are refused and the start-up models keep serving", async () => {
    const client = served.server.client;
    for (const call of [client.repositoryModelLoad, client.repositoryModelUnload]) {
      const err = await rejection(unary(call, client, { repositoryName: "", modelName: "typed", parameters: {} }));
      assert.equal(err.code, status.FAILED_PRECONDITION);
      assert.match(err.details, /model_control_mode "none"; use "explicit" to load and unload by request/);
    }
    assert.deepEqual(outputValues(await unary(client.modelInfer, client, typedRequest()), "x_scaled"), [2, 4, 6]);
  });
});

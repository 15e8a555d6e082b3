import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as ort from "onnxruntime-node";
import { protoRoot } from "@vigil/proto";
import { addDemoModel } from "./support/models.js";
import { FLIGHT_ROWS, referenceRun } from "./support/requests.js";
import { serveRepository } from "./support/server.js";

/** Debian's python3, which has the python3-grpcio packages (the pyenv one on PATH does not). */
const PYTHON = "/usr/bin/python3";

const served = serveRepository(addDemoModel);
let stubs: string;

before(async () => {
  stubs = await mkdtemp(join(tmpdir(), "vigil-pystubs-"));
  // Stubs compiled from the project's own .proto: the wire contract, not a copy of it.
  execFileSync(PYTHON, [
    "-m",
    "grpc_tools.protoc",
    `-I${protoRoot}`,
    `--python_out=${stubs}`,
    `--grpc_python_out=${stubs}`,
    "inference/grpc_service.proto",
    "inference/model_config.proto",
  ]);
});
after(() => rm(stubs, { recursive: true, force: true }));

test("a Python grpcio client calls ModelInfer with raw_input_contents and gets onnxruntime's result", async () => {
  const script = join(import.meta.dirname, "python", "infer_raw.py");
  // Asynchronous: the server runs on this process's event loop and must keep answering.
  const { stdout: output } = await promisify(execFile)(PYTHON, [script, stubs, served.server.address, "flights", JSON.stringify(FLIGHT_ROWS)], {
    encoding: "utf8",
  });
  const result = JSON.parse(output) as {
    live: boolean;
    id: string;
    model: string;
    version: string;
    output: string;
    shape: number[];
    values: number[];
    bad: { code: string; details: string };
  };
  const reference = await referenceRun(join(served.repository, "flights", "1", "model.onnx"), {
    features: new ort.Tensor("float32", Float32Array.from(FLIGHT_ROWS.flat()), [FLIGHT_ROWS.length, 5]),
  });
  assert.equal(result.live, true);
  assert.equal(result.id, "from-python");
  assert.equal(result.model, "flights");
  assert.equal(result.version, "1");
  assert.equal(result.output, "probabilities");
  assert.deepEqual(result.shape, [FLIGHT_ROWS.length, 2]);
  assert.deepEqual(Float32Array.from(result.values), reference.probabilities!.data);
  assert.equal(result.bad.code, "INVALID_ARGUMENT");
  assert.match(result.bad.details, /request has no inputs/);
});

test("a Python grpcio client reads ModelConfig and a classification answer", async () => {
  const script = join(import.meta.dirname, "python", "model_config.py");
  const { stdout } = await promisify(execFile)(PYTHON, [script, stubs, served.server.address, "flights", JSON.stringify(FLIGHT_ROWS[0])], { encoding: "utf8" });
  const result = JSON.parse(stdout) as { config: Record<string, unknown>; classes: string[] };
  // The demo model prefers CUDA and falls back to the CPU; the instance group names where it runs.
  const onGpu = served.server.server.repository.resolve("flights", "").provider.provider === "cuda";
  assert.deepEqual(result.config, {
    name: "flights",
    platform: "onnxruntime_onnx",
    backend: "onnxruntime",
    maxBatchSize: 256,
    input: [{ name: "features", dataType: "TYPE_FP32", dims: ["5"] }],
    output: [{ name: "probabilities", dataType: "TYPE_FP32", dims: ["2"] }],
    versionPolicy: { latest: { numVersions: 1 } },
    dynamicBatching: { preferredBatchSize: [64, 128, 256], maxQueueDelayMicroseconds: "500", defaultQueuePolicy: { maxQueueSize: 4096 } },
    instanceGroup: [onGpu ? { name: "flights", count: 1, gpus: [0], kind: "KIND_GPU" } : { name: "flights", count: 1, kind: "KIND_CPU" }],
    defaultModelFilename: "model.onnx",
  });
  assert.equal(result.classes.length, 2);
  assert.deepEqual(result.classes.map((c) => c.split(":").slice(1).join(":")).sort(), ["0:on_time", "1:delayed"]);
});

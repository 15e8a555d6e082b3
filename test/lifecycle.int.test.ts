import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { credentials, status } from "@grpc/grpc-js";
import { GRPCInferenceServiceClient, type ModelInferRequest } from "@vigil/proto";
import { bearer, rejection, unary } from "./support/grpc.js";
import { tempRepository, typedModelConfig, typedModelOnnx, writeModel } from "./support/models.js";
import { outputValues } from "./support/outputs.js";
import { contentsRequest } from "./support/requests.js";
import { type TestServer, serveRepository, startTestServer } from "./support/server.js";

const typedRequest = (model: string, x = [1, 2, 3]): ModelInferRequest =>
  contentsRequest(model, [
    { name: "x", datatype: "FP32", shape: [1, 3], contents: { fp32Contents: x } },
    { name: "k", datatype: "INT64", shape: [1, 2], contents: { int64Contents: [1n, 2n] } },
  ]);

describe("model repository control: load, unload, reload without a restart", () => {
  const served = serveRepository((repository) => writeModel(repository, "typed", 1, typedModelOnnx(2), typedModelConfig()));
  let t: TestServer;
  const load = (modelName: string) => unary(t.client.repositoryModelLoad, t.client, { repositoryName: "", modelName, parameters: {} });
  const unload = (modelName: string) => unary(t.client.repositoryModelUnload, t.client, { repositoryName: "", modelName, parameters: {} });
  const infer = (request: ModelInferRequest) => unary(t.client.modelInfer, t.client, request);

  before(() => {
    t = served.server;
  });

  test("a model added to the repository after start loads on request", async () => {
    await writeModel(served.repository, "added", 1, typedModelOnnx(5), typedModelConfig());
    assert.equal((await unary(t.client.modelReady, t.client, { name: "added", version: "" })).ready, false);
    const err = await rejection(infer(typedRequest("added")));
    assert.equal(err.code, status.NOT_FOUND);
    await load("added");
    const response = await infer(typedRequest("added"));
    assert.deepEqual(outputValues(response, "x_scaled"), [5, 10, 15]);
  });

  test("unload: requests get UNAVAILABLE with the reason, the index says so, load brings it back", async () => {
    await unload("added");
    const err = await rejection(infer(typedRequest("added")));
    assert.equal(err.code, status.UNAVAILABLE);
    assert.match(err.details, /model "added" is not available: unloaded/);
    const index = await unary(t.client.repositoryIndex, t.client, { repositoryName: "", ready: false });
    assert.deepEqual(
      index.models.find((m) => m.name === "added"),
      { name: "added", version: "", state: "UNAVAILABLE", reason: "unloaded" },
    );
    const ready = await unary(t.client.repositoryIndex, t.client, { repositoryName: "", ready: true });
    assert.deepEqual(
      ready.models.map((m) => m.name),
      ["typed"],
    );
    await unload("added");
    assert.equal(
      (await unary(t.client.modelReady, t.client, { name: "added", version: "" })).ready,
      false,
      "unloading an unloaded model succeeds, as Triton's does, and changes nothing",
    );
    await load("added");
    assert.equal((await unary(t.client.modelReady, t.client, { name: "added", version: "" })).ready, true);
  });

  test("reload to a new version swaps it in while traffic keeps flowing", async () => {
    await writeModel(served.repository, "typed", 2, typedModelOnnx(3), typedModelConfig());
    let stop = false;
    const failures: unknown[] = [];
    let answered = 0;
    const traffic = (async () => {
      while (!stop) {
        await infer(typedRequest("typed")).then(
          () => answered++,
          (e: unknown) => failures.push(e),
        );
      }
    })();
    await new Promise((r) => setTimeout(r, 30));
    await load("typed");
    await new Promise((r) => setTimeout(r, 30));
    stop = true;
    await traffic;
    assert.deepEqual(failures, [], "no request failed during the reload");
    assert.ok(answered > 0);
    const meta = await unary(t.client.modelMetadata, t.client, { name: "typed", version: "" });
    assert.deepEqual(meta.versions, ["2"], "version_policy latest:1 serves only the newest");
    assert.deepEqual(outputValues(await infer(typedRequest("typed")), "x_scaled"), [3, 6, 9]);
    assert.equal((await rejection(infer({ ...typedRequest("typed"), modelVersion: "1" }))).code, status.NOT_FOUND);
  });

  test("a checksum mismatch refuses the load with a clear error and the model stays unavailable", async () => {
    await writeModel(served.repository, "tampered", 1, typedModelOnnx(), typedModelConfig());
    await writeFile(join(served.repository, "tampered", "1", "model.onnx.sha256"), "0".repeat(64));
    const err = await rejection(load("tampered"));
    assert.equal(err.code, status.FAILED_PRECONDITION);
    assert.match(err.details, /checksum mismatch for .*tampered\/1\/model.onnx: file has sha256 [0-9a-f]{64}, .*says 0{64}/);
    const inferErr = await rejection(infer(typedRequest("tampered")));
    assert.equal(inferErr.code, status.UNAVAILABLE);
    assert.match(inferErr.details, /checksum mismatch/);
  });

  test("an invalid config names every wrong field", async () => {
    await writeModel(served.repository, "misconfigured", 1, typedModelOnnx(), {
      max_batch_size: -1,
      inputs: [{ name: "x", datatype: "FLOAT32", dims: [3] }],
      outputs: [],
      dynamic_batching: { max_queue_delay_us: "soon" },
    });
    const err = await rejection(load("misconfigured"));
    assert.equal(err.code, status.FAILED_PRECONDITION);
    for (const field of ["max_batch_size", "inputs[0].datatype", "outputs", "dynamic_batching.max_queue_delay_us"]) {
      assert.ok(err.details.includes(`- ${field}:`), `error names ${field}: ${err.details}`);
    }
  });

  test("a config that disagrees with the model file is refused", async () => {
    await writeModel(
      served.repository,
      "mismatched",
      1,
      typedModelOnnx(),
      typedModelConfig({
        inputs: [
          { name: "x", datatype: "FP64", dims: [3] },
          { name: "k", datatype: "INT64", dims: [2] },
        ],
      }),
    );
    const err = await rejection(load("mismatched"));
    assert.match(err.details, /input "x" is FP32 in the model file, FP64 in config/);
  });

  test("a config whose dimensions disagree with the model file's fixed ones is refused at load, not on every request", async () => {
    await writeModel(
      served.repository,
      "wide",
      1,
      typedModelOnnx(),
      typedModelConfig({
        inputs: [
          { name: "x", datatype: "FP32", dims: [7] },
          { name: "k", datatype: "INT64", dims: [2] },
        ],
      }),
    );
    const err = await rejection(load("wide"));
    assert.equal(err.code, status.FAILED_PRECONDITION);
    assert.match(err.details, /input "x" has shape \[-1,3\] in the model file, config says \[-1,7\]/);
    await writeModel(
      served.repository,
      "variable",
      1,
      typedModelOnnx(),
      typedModelConfig({
        inputs: [
          { name: "x", datatype: "FP32", dims: [-1] },
          { name: "k", datatype: "INT64", dims: [2] },
        ],
      }),
    );
    await load("variable");
  });

  test("a version directory too large to be an exact number is not a version", async () => {
    await writeModel(served.repository, "huge", 1, typedModelOnnx(), typedModelConfig());
    await mkdir(join(served.repository, "huge", "99999999999999999999"));
    await load("huge");
    const meta = await unary(t.client.modelMetadata, t.client, { name: "huge", version: "" });
    assert.deepEqual(meta.versions, ["1"]);
  });

  test("a FIFO as model.onnx is refused at once, and the model's later loads do not wait on it", { timeout: 30_000 }, async () => {
    await writeModel(served.repository, "piped", 1, typedModelOnnx(), typedModelConfig());
    const model = join(served.repository, "piped", "1", "model.onnx");
    await rm(model);
    execFileSync("mkfifo", [model]);
    const err = await rejection(load("piped"));
    assert.equal(err.code, status.FAILED_PRECONDITION);
    assert.match(err.details, /model file piped\/1\/model\.onnx is not a regular file; refused/);
    assert.ok(!err.details.includes(served.repository), "the message names no absolute path");
    await rm(model);
    await writeFile(model, typedModelOnnx());
    await load("piped");
  });

  test("links: followed inside the repository, refused when they lead out, with the reason in the index", async () => {
    const outside = await tempRepository();
    try {
      await writeModel(outside.path, "elsewhere", 1, typedModelOnnx(), typedModelConfig());
      await symlink(join(outside.path, "elsewhere"), join(served.repository, "escaped"));
      await symlink(join(served.repository, "typed"), join(served.repository, "alias"));
      const err = await rejection(load("escaped"));
      assert.equal(err.code, status.FAILED_PRECONDITION);
      assert.match(err.details, /model directory escaped links outside the model repository; refused/);
      await load("alias");
      const index = await unary(t.client.repositoryIndex, t.client, { repositoryName: "", ready: false });
      assert.equal(index.models.find((m) => m.name === "alias")?.state, "READY");
      const escaped = index.models.find((m) => m.name === "escaped");
      assert.equal(escaped?.state, "UNAVAILABLE");
      assert.match(escaped?.reason ?? "", /links outside the model repository/);
    } finally {
      await rm(join(served.repository, "escaped"));
      await unload("alias");
      await rm(join(served.repository, "alias"));
      await outside.remove();
    }
  });

  test("names outside the repository are refused", async () => {
    for (const call of [load, unload]) {
      const err = await rejection(call("../etc"));
      assert.equal(err.code, status.INVALID_ARGUMENT);
      assert.match(err.details, /not a valid model name/);
    }
  });

  test("a model being loaded answers UNAVAILABLE", async () => {
    await writeModel(served.repository, "late", 1, typedModelOnnx(), typedModelConfig());
    let duringLoad: unknown;
    const onChange = (name: string, state: string) => {
      if (name !== "late" || state !== "LOADING") return;
      try {
        t.server.repository.resolve("late", "");
      } catch (error) {
        duringLoad = error;
      }
    };
    t.server.repository.on("change", onChange);
    await load("late");
    t.server.repository.off("change", onChange);
    assert.equal((duringLoad as { code: number }).code, status.UNAVAILABLE);
    assert.match((duringLoad as Error).message, /model "late" is loading; retry shortly/);
  });
});

describe("authentication", () => {
  const token = "test-token-0123456789";
  const served = serveRepository((repository) => writeModel(repository, "typed", 1, typedModelOnnx(), typedModelConfig()), {
    auth_tokens: [token, "second-token"],
  });
  let t: TestServer;
  before(() => {
    t = served.server;
  });

  test("every inference RPC needs a bearer token: missing, malformed and wrong ones are UNAUTHENTICATED", async () => {
    const cases = [
      { metadata: undefined, message: /missing credentials: send metadata 'authorization: Bearer <token>'/ },
      {
        metadata: (() => {
          const m = bearer("x");
          m.set("authorization", "Basic abc");
          return m;
        })(),
        message: /must be 'Bearer <token>'/,
      },
      { metadata: bearer("wrong-token"), message: /bearer token not accepted/ },
    ];
    for (const c of cases) {
      for (const call of [
        unary(t.client.modelInfer, t.client, typedRequest("typed"), c.metadata),
        unary(t.client.serverLive, t.client, {}, c.metadata),
        unary(t.client.repositoryIndex, t.client, { repositoryName: "", ready: false }, c.metadata),
      ]) {
        const err = await rejection(call);
        assert.equal(err.code, status.UNAUTHENTICATED);
        assert.match(err.details, c.message);
      }
    }
  });

  test("a streaming call without a token is refused", async () => {
    const stream = t.client.modelStreamInfer();
    const err = await new Promise<{ code: number }>((resolve) => {
      stream.on("error", resolve);
      stream.on("data", () => undefined);
      stream.write(typedRequest("typed"));
    });
    assert.equal(err.code, status.UNAUTHENTICATED);
  });

  test("each configured token is accepted; health stays open", async () => {
    for (const accepted of [token, "second-token"]) {
      const response = await unary(t.client.modelInfer, t.client, typedRequest("typed"), bearer(accepted));
      assert.deepEqual(outputValues(response, "x_scaled"), [2, 4, 6]);
    }
    assert.equal((await unary(t.health.check, t.health, { service: "" })).status, 1);
  });
});

describe("TLS", () => {
  test("serves over TLS with the configured certificate and refuses plaintext clients", async () => {
    const repo = await tempRepository();
    const cert = join(repo.path, "..", `${repo.path.split("/").pop()}-cert.pem`);
    const key = join(repo.path, "..", `${repo.path.split("/").pop()}-key.pem`);
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout",
        key,
        "-out",
        cert,
      ],
      { stdio: "ignore" },
    );
    await writeModel(repo.path, "typed", 1, typedModelOnnx(), typedModelConfig());
    const t = await startTestServer({ model_repository: repo.path, tls: { cert_file: cert, key_file: key } });
    const secure = new GRPCInferenceServiceClient(t.address, credentials.createSsl(readFileSync(cert)));
    try {
      assert.deepEqual(await unary(secure.serverLive, secure, {}), { live: true });
      const plain = await rejection(unary(t.client.serverLive, t.client, {}, undefined, { deadline: Date.now() + 2000 }));
      assert.ok([status.UNAVAILABLE, status.DEADLINE_EXCEEDED].includes(plain.code), `plaintext refused (${plain.code})`);
    } finally {
      secure.close();
      await t.stop();
      await repo.remove();
    }
  });
});

describe("graceful shutdown", () => {
  // A one-minute batching window (the most a config allows) under a 60 s test timeout: shutdown must flush the queue, not wait it out.
  test("queued and running requests finish, new ones are refused, then the server stops", { timeout: 60_000 }, async () => {
    const repo = await tempRepository();
    await writeModel(repo.path, "typed", 1, typedModelOnnx(), typedModelConfig({ dynamic_batching: { mode: "window", max_queue_delay_us: 60_000_000 } }));
    const t = await startTestServer({ model_repository: repo.path });
    try {
      const inFlight = Array.from({ length: 4 }, (_, i) => unary(t.client.modelInfer, t.client, typedRequest("typed", [i, i, i])));
      const queue = t.server.repository.versions("typed")[0]!.scheduler;
      while (queue.queueDepth < 4) await new Promise((r) => setTimeout(r, 10));
      const stopping = t.server.shutdown();
      const late = await rejection(unary(t.client.modelInfer, t.client, typedRequest("typed"), undefined, { deadline: Date.now() + 2000 }));
      const responses = await Promise.all(inFlight);
      await stopping;
      for (const [i, r] of responses.entries()) assert.deepEqual(outputValues(r, "x_scaled"), [2 * i, 2 * i, 2 * i]);
      assert.ok([status.UNAVAILABLE, status.DEADLINE_EXCEEDED].includes(late.code), `late request refused (${late.code}: ${late.details})`);
      const live = await rejection(unary(t.client.serverLive, t.client, {}, undefined, { deadline: Date.now() + 1000 }));
      assert.ok([status.UNAVAILABLE, status.DEADLINE_EXCEEDED].includes(live.code));
    } finally {
      await t.stop();
      await repo.remove();
    }
  });
});

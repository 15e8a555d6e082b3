import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import * as ort from "onnxruntime-node";
import { unary, rejection } from "./support/grpc.js";
import { addDemoModel, typedModelConfig, typedModelOnnx, writeModel } from "./support/models.js";
import { bytesOf, contentsRequest, rawFloat32, rawRequest, referenceRun } from "./support/requests.js";
import { type TestServer, serveRepository } from "./support/server.js";
import { seededRandom } from "@vigil/demo-model";

describe("dynamic batching", () => {
  const served = serveRepository(async (repository) => {
    await addDemoModel(repository);
    await writeModel(repository, "typed", 1, typedModelOnnx(), typedModelConfig({ dynamic_batching: { max_queue_delay_us: 20_000 } }));
    await writeModel(
      repository,
      "tiny_queue",
      1,
      typedModelOnnx(),
      typedModelConfig({ dynamic_batching: { mode: "window", max_queue_delay_us: 300_000 }, max_queue_size: 2 }),
    );
    await writeModel(repository, "slow_queue", 1, typedModelOnnx(), typedModelConfig({ dynamic_batching: { mode: "window", max_queue_delay_us: 1_000_000 } }));
    await writeModel(repository, "eager_minute", 1, typedModelOnnx(), typedModelConfig({ dynamic_batching: { max_queue_delay_us: 60_000_000 } }));
  });
  let t: TestServer;
  before(() => {
    t = served.server;
  });

  const stats = async (name: string) => (await unary(t.client.modelStatistics, t.client, { name, version: "" })).modelStats[0]!;

  test("64 concurrent demo-model requests are merged and each result is bit-identical to an unbatched run", async () => {
    const random = seededRandom(7);
    const rows = Array.from({ length: 64 }, () => [
      Math.floor(random() * 24),
      Math.floor(random() * 7),
      50 + random() * 3000,
      Math.floor(random() * 60),
      Math.floor(random() * 60),
    ]);
    const modelFile = join(served.repository, "flights", "1", "model.onnx");
    const unbatched: Float32Array[] = [];
    for (const row of rows) {
      const out = await referenceRun(modelFile, { features: new ort.Tensor("float32", Float32Array.from(row), [1, 5]) });
      unbatched.push(out.probabilities!.data as Float32Array);
    }
    const before = await stats("flights");
    const responses = await Promise.all(
      rows.map((row) =>
        unary(
          t.client.modelInfer,
          t.client,
          rawRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], bytes: bytesOf(Float32Array.from(row)) }]),
        ),
      ),
    );
    for (const [i, r] of responses.entries()) assert.deepEqual(rawFloat32(r), unbatched[i], `row ${i}`);
    const after = await stats("flights");
    const executions = Number(after.executionCount - before.executionCount);
    assert.equal(Number(after.inferenceCount - before.inferenceCount), 64);
    assert.ok(executions < 64, `64 requests ran in ${executions} executions: batching merged some`);
    assert.ok(
      after.batchStats.some((b) => b.batchSize > 1n),
      "some executions had more than one row",
    );
  });

  test("requests of several rows and two inputs are merged and split back exactly", async () => {
    const random = seededRandom(11);
    const requests = Array.from({ length: 24 }, () => {
      const n = 1 + Math.floor(random() * 3);
      return {
        n,
        x: Array.from({ length: n * 3 }, () => random() * 100 - 50),
        k: Array.from({ length: n * 2 }, () => BigInt(Math.floor(random() * 1e6)) - 500_000n),
      };
    });
    const before = await stats("typed");
    const responses = await Promise.all(
      requests.map((r) =>
        unary(
          t.client.modelInfer,
          t.client,
          contentsRequest("typed", [
            { name: "x", datatype: "FP32", shape: [r.n, 3], contents: { fp32Contents: r.x } },
            { name: "k", datatype: "INT64", shape: [r.n, 2], contents: { int64Contents: r.k } },
          ]),
        ),
      ),
    );
    responses.forEach((response, i) => {
      const r = requests[i]!;
      const [xs, ks] = response.outputs;
      assert.deepEqual(xs!.shape, [BigInt(r.n), 3n]);
      assert.deepEqual(ks!.shape, [BigInt(r.n), 2n]);
      assert.deepEqual(
        rawFloat32(response, 0),
        Float32Array.from(r.x, (v) => Math.fround(v) * 2),
      );
      assert.deepEqual(
        [...new BigInt64Array(Uint8Array.from(response.rawOutputContents[1]!).buffer)],
        r.k.map((v) => v + 1n),
      );
    });
    const after = await stats("typed");
    assert.ok(after.executionCount - before.executionCount < 24n, "merged into fewer executions");
    assert.ok(
      after.batchStats.every((b) => b.batchSize <= 8n),
      "no execution exceeds max_batch_size",
    );
  });

  // Under a 30 s test timeout: waiting out the one-minute window would fail the test.
  test("in the default eager mode a lone request runs at once: its queue time is not the one-minute window", { timeout: 30_000 }, async () => {
    const before = await stats("eager_minute");
    const response = await unary(
      t.client.modelInfer,
      t.client,
      contentsRequest("eager_minute", [
        { name: "x", datatype: "FP32", shape: [1, 3], contents: { fp32Contents: [1, 2, 3] } },
        { name: "k", datatype: "INT64", shape: [1, 2], contents: { int64Contents: [1n, 2n] } },
      ]),
    );
    assert.deepEqual(rawFloat32(response, 0), Float32Array.from([2, 4, 6]));
    const after = await stats("eager_minute");
    assert.equal(after.executionCount - before.executionCount, 1n);
    const queuedNs = after.inferenceStats!.queue!.ns - before.inferenceStats!.queue!.ns;
    assert.ok(queuedNs < 60_000_000_000n, `queued ${queuedNs} ns, less than the window`);
    assert.deepEqual(
      after.batchStats.map((b) => b.batchSize),
      [1n],
    );
  });

  test("a full queue answers RESOURCE_EXHAUSTED and keeps the requests it accepted", async () => {
    const calls = Array.from({ length: 5 }, () =>
      unary(
        t.client.modelInfer,
        t.client,
        contentsRequest("tiny_queue", [
          { name: "x", datatype: "FP32", shape: [1, 3], contents: { fp32Contents: [1, 2, 3] } },
          { name: "k", datatype: "INT64", shape: [1, 2], contents: { int64Contents: [1n, 2n] } },
        ]),
      ).then(
        () => "ok",
        (e: { code: number; details: string }) => e,
      ),
    );
    const outcomes = await Promise.all(calls);
    const ok = outcomes.filter((o) => o === "ok");
    const refused = outcomes.filter((o): o is { code: number; details: string } => o !== "ok");
    assert.equal(ok.length, 2);
    assert.equal(refused.length, 3);
    for (const e of refused) {
      assert.equal(e.code, status.RESOURCE_EXHAUSTED);
      assert.match(e.details, /queue of model tiny_queue:1 is full \(2 requests waiting\); retry with backoff/);
    }
  });

  test("a request whose deadline passes in the queue gets DEADLINE_EXCEEDED and is never run", async () => {
    const before = await stats("slow_queue");
    const err = await rejection(
      unary(
        t.client.modelInfer,
        t.client,
        contentsRequest("slow_queue", [
          { name: "x", datatype: "FP32", shape: [1, 3], contents: { fp32Contents: [1, 2, 3] } },
          { name: "k", datatype: "INT64", shape: [1, 2], contents: { int64Contents: [1n, 2n] } },
        ]),
        undefined,
        { deadline: Date.now() + 150 },
      ),
    );
    assert.equal(err.code, status.DEADLINE_EXCEEDED);
    // Wait past the batcher's 1 s window: the dropped request must not have been executed.
    await new Promise((r) => setTimeout(r, 1200));
    const after = await stats("slow_queue");
    assert.equal(after.executionCount, before.executionCount);
    assert.equal(after.inferenceCount, before.inferenceCount);
    assert.equal(after.inferenceStats!.fail!.count - before.inferenceStats!.fail!.count, 1n);
  });
});

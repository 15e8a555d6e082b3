import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Metadata, status } from "@grpc/grpc-js";
import * as ort from "onnxruntime-node";
import { FeedbackClient, ModelInferRequest, type SubmitLabelsRequest } from "@vigil/proto";
import type { Store } from "@vigil/store";
import { credentials } from "@grpc/grpc-js";
import { runLoadgen } from "@vigil/cli";
import { isDelayed, loadFlights, splitByMonth } from "@vigil/demo-model";
import { rejection, unary } from "./support/grpc.js";
import { addDemoModel, tempRepository, typedModelConfig, typedModelOnnx, writeModel } from "./support/models.js";
import { labelledPredictions } from "./support/queries.js";
import { countRows, openTestStore } from "./support/recording.js";
import { FLIGHT_ROWS, contentsRequest, referenceRun } from "./support/requests.js";
import { type TestServer, startTestServer } from "./support/server.js";
import { tempDir } from "./support/store.js";

interface Row {
  request_id: string;
  row_index: number;
  model_name: string;
  model_version: string;
  status: string;
  error: string;
  batch_size: number;
  features: number[];
  prediction: string;
  scores: number[];
  confidence: number;
  client: string;
  latency_us: number;
}

describe("every request is written to the prediction log (embedded engine)", () => {
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  let t: TestServer;
  let feedback: FeedbackClient;
  let reference: Float32Array;

  before(async () => {
    repo = await tempRepository();
    await addDemoModel(repo.path);
    await writeModel(repo.path, "typed", 1, typedModelOnnx(), typedModelConfig());
    dirs = await tempDir("vigil-recording-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    await store.ready();
    t = await startTestServer({ model_repository: repo.path }, store);
    feedback = new FeedbackClient(t.address, credentials.createInsecure());
    const out = await referenceRun(join(repo.path, "flights", "1", "model.onnx"), {
      features: new ort.Tensor("float32", Float32Array.from(FLIGHT_ROWS.flat()), [FLIGHT_ROWS.length, 5]),
    });
    reference = out.probabilities!.data as Float32Array;
  });
  after(async () => {
    feedback.close();
    await t.stop();
    await store.close();
    await repo.remove();
    await dirs.remove();
  });

  const row = async (id: string, index = 0): Promise<Row> => {
    await store.predictions.flush();
    const [found] = await store.engine.query<Row>("SELECT * FROM predictions WHERE request_id = {id:String} AND row_index = {index:UInt32}", { id, index });
    assert.ok(found, `a row for ${id}/${index}`);
    return found;
  };
  const submit = (request: Partial<SubmitLabelsRequest>) =>
    unary(feedback.submitLabels, feedback, { modelName: "flights", labels: [], source: "test", ...request });

  test("an answered request: ids, version, features, prediction, scores, timings, client", async () => {
    const metadata = new Metadata();
    metadata.set("x-client-id", "recording-suite");
    for (let i = 0; i < FLIGHT_ROWS.length; i++) {
      await unary(
        t.client.modelInfer,
        t.client,
        contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: FLIGHT_ROWS[i]! } }], { id: `r-${i}` }),
        i === 0 ? metadata : undefined,
      );
    }
    for (let i = 0; i < FLIGHT_ROWS.length; i++) {
      const r = await row(`r-${i}`);
      const scores = reference.subarray(2 * i, 2 * i + 2);
      assert.equal(r.status, "OK");
      assert.equal(r.model_name, "flights");
      assert.equal(r.model_version, "1");
      assert.equal(r.batch_size, 1);
      assert.deepEqual(r.features, FLIGHT_ROWS[i]);
      assert.deepEqual(Float32Array.from(r.scores), scores, "Float32 scores survive the round trip");
      assert.equal(r.prediction, scores[1]! > scores[0]! ? "delayed" : "on_time");
      assert.equal(Math.fround(r.confidence), Math.max(...scores));
      assert.ok(r.latency_us > 0);
      assert.equal(r.client, i === 0 ? "recording-suite" : "127.0.0.1");
    }
  });

  test("a batched request becomes one row per input row", async () => {
    await unary(
      t.client.modelInfer,
      t.client,
      contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [3, 5], contents: { fp32Contents: FLIGHT_ROWS.slice(0, 3).flat() } }], {
        id: "batch-1",
      }),
    );
    for (let i = 0; i < 3; i++) {
      const r = await row("batch-1", i);
      assert.equal(r.batch_size, 3);
      assert.deepEqual(r.features, FLIGHT_ROWS[i]);
    }
  });

  test("a model without monitored features logs summary statistics of its first input", async () => {
    await unary(
      t.client.modelInfer,
      t.client,
      contentsRequest(
        "typed",
        [
          { name: "x", datatype: "FP32", shape: [1, 3], contents: { fp32Contents: [1, 2, 6] } },
          { name: "k", datatype: "INT64", shape: [1, 2], contents: { int64Contents: [5n, 7n] } },
        ],
        { id: "summary-1" },
      ),
    );
    const r = await row("summary-1");
    assert.deepEqual(r.features, [3, Math.sqrt(14 / 3), 1, 6], "mean, std, min, max of x");
    const meta = await unary(t.client.modelMetadata, t.client, { name: "typed", version: "" });
    assert.deepEqual(JSON.parse(meta.properties.recorded_features!), ["x.mean", "x.std", "x.min", "x.max"]);
    assert.equal(r.prediction, "", "no class labels");
    assert.deepEqual(r.scores, [2, 4, 12]);
  });

  test("refused requests are logged with their status and message, unknown models included", async () => {
    await rejection(unary(t.client.modelInfer, t.client, ModelInferRequest.fromPartial({ modelName: "nope", id: "bad-model" })));
    await rejection(
      unary(t.client.modelInfer, t.client, contentsRequest("flights", [{ name: "features", datatype: "FP64", shape: [1, 5] }], { id: "bad-dtype" })),
    );
    const unknown = await row("bad-model");
    assert.deepEqual([unknown.status, unknown.model_name, unknown.model_version], ["NOT_FOUND", "nope", ""]);
    assert.match(unknown.error, /model "nope" is not in the repository/);
    const dtype = await row("bad-dtype");
    assert.deepEqual([dtype.status, dtype.model_version], ["INVALID_ARGUMENT", "1"]);
    assert.match(dtype.error, /datatype FP64 but model "flights" expects FP32/);
    assert.deepEqual(dtype.features, []);
  });

  test("SubmitLabels validates every item and names the offending one", async () => {
    const cases: Array<[Partial<SubmitLabelsRequest>, number, RegExp]> = [
      [{ labels: [] }, status.INVALID_ARGUMENT, /labels is empty/],
      [
        {
          labels: [
            { requestId: "r-0", rowIndex: 0, label: "delayed" },
            { requestId: " ", rowIndex: 0, label: "delayed" },
          ],
        },
        status.INVALID_ARGUMENT,
        /labels\[1\]\.request_id is empty/,
      ],
      [
        { labels: [{ requestId: "r-0", rowIndex: 0, label: "late" }] },
        status.INVALID_ARGUMENT,
        /labels\[0\]\.label "late" is not a class of model "flights" \(on_time, delayed\)/,
      ],
      [{ modelName: "nope", labels: [{ requestId: "r-0", rowIndex: 0, label: "delayed" }] }, status.NOT_FOUND, /model "nope" is not loaded/],
    ];
    for (const [request, code, message] of cases) {
      const err = await rejection(submit(request));
      assert.equal(err.code, code);
      assert.match(err.details, message);
    }
  });

  test("labels join their predictions by request id and row; the newest label wins", async () => {
    const before = Date.now() * 1000 - 60e6;
    assert.deepEqual(await submit({ labels: [0, 1, 2].map((i) => ({ requestId: `r-${i}`, rowIndex: 0, label: "delayed" })) }), { accepted: 3 });
    await new Promise((r) => setTimeout(r, 5));
    await submit({
      labels: [
        { requestId: "r-0", rowIndex: 0, label: "on_time" },
        { requestId: "batch-1", rowIndex: 2, label: "on_time" },
      ],
    });
    await store.labels.flush();
    const pairs = await labelledPredictions(store.engine, "flights", { fromUs: before, toUs: Date.now() * 1000 + 60e6 });
    const byId = Object.fromEntries(pairs.map((p) => [`${p.request_id}/${p.row_index}`, p.label]));
    assert.deepEqual(byId, { "r-0/0": "on_time", "r-1/0": "delayed", "r-2/0": "delayed", "batch-1/2": "on_time" });
  });

  test("loadgen sends the true outcome of a share of its requests, after a delay", async () => {
    const summary = await runLoadgen({
      target: t.address,
      model: "flights",
      rate: 0,
      concurrency: 4,
      requests: 60,
      durationMs: 0,
      batch: 1,
      labelFraction: 0.5,
      labelDelayMs: 200,
    });
    assert.equal(summary.ok, 60);
    assert.equal(summary.labelsFailed, 0);
    assert.ok(summary.labelsSent > 15 && summary.labelsSent < 45, `about half labelled: ${summary.labelsSent}`);
    await store.labels.flush();
    await store.predictions.flush();
    const pairs = await labelledPredictions(store.engine, "flights", { fromUs: 0, toUs: Date.now() * 1000 + 60e6 });
    const fromLoadgen = pairs.filter((p) => p.request_id.startsWith("loadgen-"));
    assert.equal(fromLoadgen.length, summary.labelsSent);
    const { heldOut } = splitByMonth(loadFlights());
    for (const pair of fromLoadgen) {
      const index = Number(pair.request_id.split("-").at(-1));
      assert.equal(pair.label, isDelayed(heldOut[index]!) ? "delayed" : "on_time", `label of ${pair.request_id}`);
    }
  });

  test("a graceful stop with rows still queued writes all of them", async () => {
    const dirs2 = await tempDir("vigil-recording-stop-");
    await store.close();
    // Reopen with a one-minute batch age: rows stay queued in memory until the stop.
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs2.path, "spool") }, { maxBatchAgeMs: 60_000, maxBatchRows: 100_000 });
    await store.ready();
    const server = await startTestServer({ model_repository: repo.path }, store);
    const before = await countRows(store.engine, "request_id LIKE 'stop-%'");
    for (let i = 0; i < 30; i++) {
      await unary(
        server.client.modelInfer,
        server.client,
        contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: FLIGHT_ROWS[i % 4]! } }], {
          id: `stop-${i}`,
        }),
      );
    }
    assert.equal(store.predictions.stats().memoryRows, 30, "rows are still queued when the stop begins");
    await server.stop();
    await store.close();
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs2.path, "spool") });
    await store.ready();
    assert.equal(before, 0);
    assert.equal(await countRows(store.engine, "request_id LIKE 'stop-%'"), 30);
    await dirs2.remove();
  });
});

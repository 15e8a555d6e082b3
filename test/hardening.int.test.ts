import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { type Socket, connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Metadata, credentials, status } from "@grpc/grpc-js";
import { classificationQuality, startMonitorApi } from "@vigil/monitor";
import { FeedbackClient, ModelInferRequest, type SubmitLabelsRequest } from "@vigil/proto";
import type { LabelRecord, Store } from "@vigil/store";
import { bearer, rejection, unary } from "./support/grpc.js";
import { addDemoModel, tempRepository } from "./support/models.js";
import { openTestStore } from "./support/recording.js";
import { FLIGHT_ROWS, contentsRequest } from "./support/requests.js";
import { outputValues } from "./support/outputs.js";
import { type TestServer, startTestServer } from "./support/server.js";
import { eventually, predictionRecord, tempDir } from "./support/store.js";

const flightsRequest = (row: number[], id: string) =>
  contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: row } }], { id });

/** A second classifier, the demo model under another name, for labels sent to the wrong model. */
async function addLinkedModel(repository: string): Promise<void> {
  await addDemoModel(repository);
  const from = join(repository, "flights");
  const to = join(repository, "linked");
  await mkdir(join(to, "1"), { recursive: true });
  for (const file of ["1/model.onnx", "1/model.onnx.sha256"]) await writeFile(join(to, file), await readFile(join(from, file)));
  const config = JSON.parse(await readFile(join(from, "config.json"), "utf8")) as Record<string, unknown>;
  await writeFile(join(to, "config.json"), JSON.stringify({ ...config, name: "linked" }));
}

describe("hardening: non-finite answers, client string bounds, labels scoped to their model", () => {
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  let t: TestServer;
  let feedback: FeedbackClient;
  let api: Awaited<ReturnType<typeof startMonitorApi>>;
  const apiToken = "hardening-api-token";

  before(async () => {
    repo = await tempRepository();
    await addLinkedModel(repo.path);
    dirs = await tempDir("vigil-hardening-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    await store.ready();
    t = await startTestServer({ model_repository: repo.path }, store);
    feedback = new FeedbackClient(t.address, credentials.createInsecure());
    api = await startMonitorApi({
      engine: store.engine,
      host: "127.0.0.1",
      port: 0,
      tokens: [apiToken],
      models: async (name, version) =>
        name === "flights" ? { name, version, classes: ["on_time", "delayed"], features: [], profiles: [], inputs: [] } : undefined,
      slos: [],
    });
  });
  after(async () => {
    await api.close();
    feedback.close();
    await t.stop();
    await store.close();
    await repo.remove();
    await dirs.remove();
  });

  const submit = (request: Partial<SubmitLabelsRequest>) =>
    unary(feedback.submitLabels, feedback, { modelName: "flights", labels: [], source: "test", ...request });
  const metrics = async () => (await fetch(`http://127.0.0.1:${t.server.metricsPort}/metrics`)).text();
  const apiGet = async (path: string, token: string | null = apiToken) => {
    const response = await fetch(`${api.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  test("a non-finite answer reaches the client as computed, is logged as NON_FINITE_OUTPUT with its reason, counted, and kept out of quality", async () => {
    const response = await unary(t.client.modelInfer, t.client, flightsRequest([17, 4, Number.NaN, 5, 7], "nan-1"));
    const scores = outputValues(response, "probabilities") as number[];
    assert.equal(scores.length, 2);
    assert.ok(
      scores.every((s) => !Number.isFinite(s)),
      `the model's NaN scores are answered as computed: ${scores}`,
    );
    await unary(t.client.modelInfer, t.client, flightsRequest(FLIGHT_ROWS[0]!, "finite-1"));
    await store.predictions.flush();
    const rows = await store.engine.query<{ request_id: string; status: string; error: string }>(
      "SELECT request_id, status, error FROM predictions WHERE request_id IN ('nan-1', 'finite-1') ORDER BY request_id",
    );
    assert.deepEqual(
      rows.map((r) => [r.request_id, r.status]),
      [
        ["finite-1", "OK"],
        ["nan-1", "NON_FINITE_OUTPUT"],
      ],
    );
    assert.match(rows[1]!.error, /output "probabilities" holds 2 non-finite values \(NaN or ±Infinity\)/);
    assert.match(await metrics(), /vigil_inference_non_finite_outputs_total\{model="flights",version="1"\} 1/);
  });

  test("quality over a window with OK rows whose scores are NaN or infinite (logged before the flag) leaves them out instead of failing", async () => {
    const fromUs = Date.now() * 1000 - 3_600e6;
    const records = [
      predictionRecord(1, {
        requestId: "legacy-nan",
        timestampUs: fromUs + 1,
        status: "OK",
        prediction: "on_time",
        scores: [Number.NaN, Number.NaN],
        confidence: Number.NaN,
      }),
      predictionRecord(2, {
        requestId: "legacy-inf",
        timestampUs: fromUs + 2,
        status: "OK",
        prediction: "delayed",
        scores: [0, Number.POSITIVE_INFINITY],
        confidence: Number.POSITIVE_INFINITY,
      }),
      predictionRecord(3, { requestId: "legacy-ok", timestampUs: fromUs + 3, status: "OK", prediction: "delayed", scores: [0.2, 0.8], confidence: 0.8 }),
    ];
    for (const record of records) await store.predictions.append(record, 1000);
    for (const id of ["legacy-nan", "legacy-inf", "legacy-ok"])
      await store.labels.append({ requestId: id, rowIndex: 0, modelName: "flights", label: "delayed", timestampUs: fromUs + 10, source: "test" }, 1000);
    await store.predictions.flush();
    await store.labels.flush();
    const quality = await classificationQuality(store.engine, { model: "flights", classes: ["on_time", "delayed"], window: { fromUs, toUs: fromUs + 1000 } });
    assert.equal(quality.rows, 1, "only the finite row is labelled quality");
    assert.equal(quality.accuracy, 1);
    assert.deepEqual(
      quality.calibration.map((b) => b.rows),
      [1],
    );
    assert.equal(quality.labelCoverage.predictions, 1);
  });

  test("client strings over their bounds are refused with INVALID_ARGUMENT naming the field and the limit", async () => {
    const huge = "x".repeat(3 * 1024 * 1024);
    // A deadline, so a reply that never comes (a 3 MiB message in the status trailer) fails instead of hanging.
    const options = () => ({ deadline: Date.now() + 10_000 });
    const infer = (request: ModelInferRequest) => rejection(unary(t.client.modelInfer, t.client, request, new Metadata(), options()));
    const label = (request: Partial<SubmitLabelsRequest>) =>
      rejection(unary(feedback.submitLabels, feedback, { modelName: "flights", labels: [], source: "test", ...request }, new Metadata(), options()));
    const cases: Array<[Promise<{ code: number; details: string }>, RegExp]> = [
      [infer(flightsRequest(FLIGHT_ROWS[0]!, huge)), /^id is 3145728 bytes; at most 256 are allowed$/],
      [infer(contentsRequest(huge, [])), /^model_name is 3145728 bytes; at most 256 are allowed$/],
      [infer(contentsRequest("flights", [], { modelVersion: huge })), /^model_version is 3145728 bytes; at most 32 are allowed$/],
      [infer(contentsRequest("flights", [{ name: huge, datatype: "FP32", shape: [1, 5] }])), /^inputs\[0\]\.name is 3145728 bytes; at most 256 are allowed$/],
      [infer(ModelInferRequest.fromPartial({ ...flightsRequest(FLIGHT_ROWS[0]!, "o"), outputs: [{ name: huge }] })), /^outputs\[0\]\.name is 3145728 bytes/],
      [
        infer(ModelInferRequest.fromPartial({ ...flightsRequest(FLIGHT_ROWS[0]!, "p"), parameters: { [huge]: { stringParam: "v" } } })),
        /^parameters key is 3145728 bytes; at most 256 are allowed$/,
      ],
      [
        infer(ModelInferRequest.fromPartial({ ...flightsRequest(FLIGHT_ROWS[0]!, "q"), parameters: { k: { stringParam: huge } } })),
        /^parameters\["k"\] is 3145728 bytes; at most 4096 are allowed$/,
      ],
      [label({ labels: [{ requestId: huge, rowIndex: 0, label: "delayed" }] }), /^labels\[0\]\.request_id is 3145728 bytes; at most 256 are allowed$/],
      [label({ source: huge, labels: [{ requestId: "finite-1", rowIndex: 0, label: "delayed" }] }), /^source is 3145728 bytes; at most 128 are allowed$/],
      [
        label({ modelName: huge, labels: [{ requestId: "finite-1", rowIndex: 0, label: "delayed" }] }),
        /^model_name is 3145728 bytes; at most 256 are allowed$/,
      ],
    ];
    for (const [pending, message] of cases) {
      const err = await pending;
      assert.equal(err.code, status.INVALID_ARGUMENT, err.details.slice(0, 200));
      assert.match(err.details.slice(0, 300), message);
    }
    await store.predictions.flush();
    const [longest] = await store.engine.query<{ n: number }>("SELECT max(length(request_id)) AS n FROM predictions");
    assert.ok(Number(longest!.n) <= 256, "a refused oversized id is not stored whole");
  });

  test("labels for ids the log does not hold are accepted, counted and logged; labels for another model's prediction are refused", async () => {
    assert.deepEqual(await submit({ labels: [{ requestId: "no-such-request", rowIndex: 0, label: "delayed" }] }), { accepted: 1 });
    assert.match(await metrics(), /vigil_labels_unmatched_total\{model="flights"\} 1/);
    assert.ok(t.logs.some((l) => l.msg === "labels for request ids the prediction log does not hold" && l.unmatched === 1));
    const err = await rejection(submit({ modelName: "linked", labels: [{ requestId: "finite-1", rowIndex: 0, label: "delayed" }] }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /^labels\[0\]\.request_id "finite-1" is a prediction of model "flights", not "linked"/);
  });

  test("two labels for one row in one call: the later one wins, by a later timestamp", async () => {
    // The writer's records are watched, since the table keeps only the winner of a tie.
    const appended: LabelRecord[] = [];
    const append = store.labels.append.bind(store.labels);
    store.labels.append = (record, waitMs) => {
      appended.push(record);
      return append(record, waitMs);
    };
    try {
      await submit({
        labels: [
          { requestId: "finite-1", rowIndex: 0, label: "on_time" },
          { requestId: "finite-1", rowIndex: 0, label: "delayed" },
        ],
      });
      await submit({ labels: [{ requestId: "finite-1", rowIndex: 0, label: "on_time" }] });
    } finally {
      store.labels.append = append;
    }
    const stamps = appended.map((r) => r.timestampUs);
    assert.deepEqual(
      appended.map((r) => r.label),
      ["on_time", "delayed", "on_time"],
    );
    assert.ok(stamps[0]! < stamps[1]! && stamps[1]! < stamps[2]!, `strictly increasing timestamps in call order: ${stamps}`);
    await store.labels.flush();
    const [newest] = await store.engine.query<{ label: string }>("SELECT label FROM labels FINAL WHERE request_id = 'finite-1'");
    assert.equal(newest!.label, "on_time");
  });
  test("a prediction's page and the labelled filter show only labels sent for the prediction's own model", async () => {
    // The label arrives under "linked" before any prediction has the id, so it is taken (unmatched).
    await submit({ modelName: "linked", labels: [{ requestId: "shared-1", rowIndex: 0, label: "delayed" }] });
    await unary(t.client.modelInfer, t.client, flightsRequest(FLIGHT_ROWS[1]!, "shared-1"));
    await store.predictions.flush();
    await store.labels.flush();
    const page = await apiGet("/api/v1/predictions/shared-1/0");
    assert.equal(page.status, 200);
    assert.deepEqual([page.body.model, page.body.label, page.body.labelledAt], ["flights", null, null]);
    const labelled = await apiGet(
      `/api/v1/predictions?model=flights&requestId=shared-1&hasLabel=true&from=-1h&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
    );
    assert.deepEqual(labelled.body.rows, []);
    await submit({ labels: [{ requestId: "shared-1", rowIndex: 0, label: "on_time" }] });
    await store.labels.flush();
    assert.equal((await apiGet("/api/v1/predictions/shared-1/0")).body.label, "on_time");
  });

  test("far-future times are refused with 400 naming the last time Vigil can query, on every route that reads a range", async () => {
    const far = "to=9999-12-31T00:00:00Z";
    for (const path of [
      `/api/v1/models/flights/confusion?${far}`,
      `/api/v1/models/flights/histograms?${far}`,
      `/api/v1/traces?${far}`,
      `/api/v1/predictions?${far}`,
    ]) {
      const { status: code, body } = await apiGet(path);
      assert.equal(code, 400, `${path}: ${JSON.stringify(body)}`);
      assert.match(String(body.error), /2255-06-05T23:47:34\.740Z/);
    }
    assert.equal((await apiGet("/api/v1/models/flights/confusion?to=2255-01-01T00:00:00Z")).status, 200, "the last centuries Vigil can hold still answer");
  });

  test("the unauthenticated health check does not show where the data lives", async () => {
    const open = await apiGet("/api/v1/health", null);
    assert.equal(open.status, 200);
    assert.ok(!JSON.stringify(open.body).includes(dirs.path), `no data directory for strangers: ${JSON.stringify(open.body)}`);
    const authenticated = await apiGet("/api/v1/health");
    assert.ok(JSON.stringify(authenticated.body).includes(dirs.path), "operators with a token still see it");
  });
});

describe("hardening: idle and preface-less connections are closed, connections are capped", () => {
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let t: TestServer;
  before(async () => {
    repo = await tempRepository();
    await addDemoModel(repo.path);
    t = await startTestServer({ model_repository: repo.path, handshake_timeout_ms: 200, max_connection_idle_ms: 400 });
  });
  after(async () => {
    await t.stop();
    await repo.remove();
  });

  const open = (port = t.server.port): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => resolve(socket));
      socket.on("error", reject);
    });
  /** Whether the server closes `socket` within `boundMs` (a bound on failure, not a timing under test). */
  const closedWithin = (socket: Socket, boundMs: number) =>
    new Promise<boolean>((resolve) => {
      if (socket.closed) return resolve(true);
      const timer = setTimeout(() => resolve(false), boundMs);
      socket.once("close", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });

  test("a connection that sends nothing, one that stops inside the HTTP/2 preface, and an idle gRPC channel are all closed", async () => {
    const silent = await open();
    const half = await open();
    half.write("PRI * HTTP/2.0\r\n");
    assert.deepEqual(await Promise.all([closedWithin(silent, 10_000), closedWithin(half, 10_000)]), [true, true]);
    await unary(t.client.serverLive, t.client, {});
    const channel = t.client.getChannel();
    await eventually(
      async () => channel.getConnectivityState(false),
      (state) => state === 0 || state === 3,
      "the idle channel is closed by the server",
      10_000,
    );
    assert.deepEqual(await unary(t.client.serverLive, t.client, {}), { live: true }, "a client reconnects after an idle close");
  });

  test("connections over max_connections are closed at once", async () => {
    // Its own server, with a handshake timeout far off, so only the cap can close a connection here.
    const capped = await startTestServer({ model_repository: repo.path, handshake_timeout_ms: 600_000, max_connections: 3 });
    try {
      const sockets = await Promise.all(Array.from({ length: 5 }, () => open(capped.server.port)));
      const ended = await Promise.all(sockets.map((s) => closedWithin(s, 5_000)));
      assert.deepEqual(ended.filter(Boolean).length, 2, `the two over the cap are closed, the three within it stay: ${ended}`);
      for (const s of sockets) s.destroy();
    } finally {
      await capped.stop();
    }
  });
});

describe("hardening: messages and health checks disclose nothing to strangers", () => {
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let t: TestServer;
  const token = "hardening-token";
  before(async () => {
    repo = await tempRepository();
    await addDemoModel(repo.path);
    t = await startTestServer({ model_repository: repo.path, auth_tokens: [token] });
  });
  after(async () => {
    await t.stop();
    await repo.remove();
  });

  test("unauthenticated per-model health checks get one answer whether the model exists or not; the server check stays open", async () => {
    const check = (service: string, metadata?: ReturnType<typeof bearer>) => unary(t.health.check, t.health, { service }, metadata);
    assert.equal((await check("")).status, 1);
    const known = await rejection(check("flights"));
    const unknown = await rejection(check("no-such-model"));
    assert.deepEqual([known.code, known.details], [unknown.code, unknown.details]);
    assert.equal(known.code, status.UNAUTHENTICATED);
    assert.equal((await check("flights", bearer(token))).status, 1);
    assert.equal((await rejection(check("no-such-model", bearer(token)))).code, status.NOT_FOUND);
  });

  test("gRPC errors and metadata name paths relative to the repository and never node_modules", async () => {
    // A model with a config but no version directory fails to load with a message naming its directory.
    await mkdir(join(repo.path, "broken"));
    await writeFile(
      join(repo.path, "broken", "config.json"),
      JSON.stringify({ ...JSON.parse(await readFile(join(repo.path, "flights", "config.json"), "utf8")), name: "broken" }),
    );
    const err = await rejection(unary(t.client.repositoryModelLoad, t.client, { repositoryName: "", modelName: "broken", parameters: {} }, bearer(token)));
    assert.match(err.details, /broken/);
    assert.ok(!err.details.includes(repo.path), `no absolute repository path: ${err.details}`);
    const meta = await unary(t.client.modelMetadata, t.client, { name: "flights", version: "" }, bearer(token));
    const text = JSON.stringify(meta.properties);
    assert.ok(!text.includes("node_modules") && !text.includes(process.cwd()), `no install paths: ${text}`);
  });
});

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Metadata, credentials, status } from "@grpc/grpc-js";
import { OnnxType, buildOnnxModel } from "@vigil/demo-model";
import { parseModelConfig, rolloutPolicyId } from "@vigil/model-repository";
import { GRPCInferenceServiceClient, type ModelInferResponse } from "@vigil/proto";
import { EmbeddedEngine, PREDICTIONS, type Store, type StoreEngine, listRolloutEvents, saveRolloutEvent } from "@vigil/store";
import { rejection, unary } from "./support/grpc.js";
import { addDemoModel, tempRepository, writeModel } from "./support/models.js";
import { openTestStore } from "./support/recording.js";
import { contentsRequest, rawFloat32 } from "./support/requests.js";
import { type TestServer, startTestServer } from "./support/server.js";
import { eventually, tempDir } from "./support/store.js";
import { serveDemo, storeEnv } from "./support/vigil.js";
import { metricValue } from "./support/metrics.js";

/** Every model here: x FP32 [-1,3] in, y FP32 [-1,3] out. */
const io = {
  inputs: [{ name: "x", type: OnnxType.FLOAT, dims: [-1, 3] }],
  outputs: [{ name: "y", type: OnnxType.FLOAT, dims: [-1, 3] }],
};

/** y = x * factor: the versions answer differently, so an answer shows which version gave it. */
function scaleOnnx(factor: number): Uint8Array {
  return buildOnnxModel({
    name: "scale",
    ...io,
    initializers: [{ name: "factor", type: OnnxType.FLOAT, dims: [], values: [factor] }],
    nodes: [{ op: "Mul", inputs: ["x", "factor"], outputs: ["y"] }],
  });
}

/** The indices of a 4-entry table, one of them NaN: x = 2 answers NaN, x outside [-4, 4) makes onnxruntime fail the run. */
const FRAGILE_TABLE = [10, 11, Number.NaN, 13];
function fragileOnnx(): Uint8Array {
  return buildOnnxModel({
    name: "fragile",
    ...io,
    initializers: [{ name: "table", type: OnnxType.FLOAT, dims: [4], values: FRAGILE_TABLE }],
    nodes: [
      { op: "Cast", inputs: ["x"], outputs: ["index"], attributes: { to: OnnxType.INT64 } },
      { op: "Gather", inputs: ["table", "index"], outputs: ["y"], attributes: { axis: 0 } },
    ],
  });
}

/** A chain of 512-wide matrix products per row: far slower than the primary's one multiplication. */
function slowOnnx(width = 512, depth = 40): Uint8Array {
  const fill = (n: number) => new Float32Array(n).fill(1 / width);
  const nodes = [{ op: "MatMul", inputs: ["x", "w_in"], outputs: ["h0"] }];
  for (let i = 0; i < depth; i++) nodes.push({ op: "MatMul", inputs: [`h${i}`, "w"], outputs: [`h${i + 1}`] });
  nodes.push({ op: "MatMul", inputs: [`h${depth}`, "w_out"], outputs: ["y"] });
  return buildOnnxModel({
    name: "slow",
    ...io,
    initializers: [
      { name: "w_in", type: OnnxType.FLOAT, dims: [3, width], values: fill(3 * width) },
      { name: "w", type: OnnxType.FLOAT, dims: [width, width], values: fill(width * width) },
      { name: "w_out", type: OnnxType.FLOAT, dims: [width, 3], values: fill(width * 3) },
    ],
    nodes,
  });
}

function modelConfig(rollout?: Record<string, unknown>, versionPolicy: Record<string, unknown> = { all: true }) {
  return {
    max_batch_size: 8,
    inputs: [{ name: "x", datatype: "FP32", dims: [3] }],
    outputs: [{ name: "y", datatype: "FP32", dims: [3] }],
    execution: { providers: ["cpu"] },
    version_policy: versionPolicy,
    ...(rollout ? { rollout } : {}),
  };
}

/** Writes a model of two versions: `primary` as version 1, `candidate` as version 2, config.json with `rollout`. */
async function twoVersions(repository: string, name: string, candidate: Uint8Array, rollout?: Record<string, unknown>): Promise<void> {
  await writeModel(repository, name, 1, scaleOnnx(2), modelConfig(rollout));
  await writeModel(repository, name, 2, candidate, modelConfig(rollout));
}

let sequence = 0;
function inferRequest(model: string, x: number[], extra: { version?: string; parameters?: Record<string, { stringParam: string }> } = {}) {
  return contentsRequest(model, [{ name: "x", datatype: "FP32", shape: [1, 3], contents: { fp32Contents: x } }], {
    id: `${model}-${++sequence}`,
    modelVersion: extra.version ?? "",
    parameters: extra.parameters ?? {},
  });
}

function infer(client: GRPCInferenceServiceClient, request: ReturnType<typeof inferRequest>, clientId?: string): Promise<ModelInferResponse> {
  const metadata = new Metadata();
  if (clientId) metadata.set("x-client-id", clientId);
  return unary(client.modelInfer, client, request, metadata);
}

/** Runs `count` requests, `concurrency` at a time, and returns their responses in order. */
async function inferMany(count: number, concurrency: number, send: (i: number) => Promise<ModelInferResponse>): Promise<ModelInferResponse[]> {
  const responses = new Array<ModelInferResponse>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        responses[i] = await send(i);
      }
    }),
  );
  return responses;
}

interface LoggedRow {
  request_id: string;
  model_version: string;
  role: string;
  status: string;
  error: string;
  scores: number[];
  timestamp_us: string;
  trace_id: string;
  client: string;
}

function loggedRows(engine: StoreEngine, model: string): Promise<LoggedRow[]> {
  return engine.query<LoggedRow>(
    `SELECT request_id, model_version, role, status, error, scores, toString(toUnixTimestamp64Micro(timestamp)) AS timestamp_us, trace_id, client
     FROM ${PREDICTIONS} WHERE model_name = {model:String} ORDER BY request_id, role`,
    { model },
  );
}

/** The log's rows of `model` once `expected` of them are there (shadows are logged after the answers). */
async function rowsOnceLogged(store: Store, model: string, expected: (rows: LoggedRow[]) => boolean): Promise<LoggedRow[]> {
  return eventually(
    async () => {
      await store.predictions.flush();
      return loggedRows(store.engine, model);
    },
    expected,
    `the prediction log rows of ${model}`,
  );
}

async function metricsText(server: TestServer): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${server.server.metricsPort}/metrics`);
  return response.text();
}

/** Each response is version 1's answer (x * 2) to its input, whatever the candidate did. */
function assertPrimaryAnswers(responses: ModelInferResponse[], xs: number[][]): void {
  for (const [i, response] of responses.entries()) {
    assert.deepEqual([response.modelVersion, Array.from(rawFloat32(response))], ["1", xs[i]!.map((v) => v * 2)]);
  }
}

const versionOf = (response: ModelInferResponse) => response.modelVersion;

describe("rollouts on the serving side: shadow, canary, rollback, policy changes", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let store: Store;
  let t: TestServer;

  before(async () => {
    dirs = await tempDir("vigil-rollout-");
    repo = await tempRepository();
    await twoVersions(repo.path, "scale", scaleOnnx(3), { mode: "shadow", candidate: 2 });
    await twoVersions(repo.path, "fragile", fragileOnnx(), { mode: "shadow", candidate: 2 });
    await twoVersions(repo.path, "slow", slowOnnx(), { mode: "shadow", candidate: 2, shadow_max_queue: 1 });
    await twoVersions(repo.path, "canary", scaleOnnx(3), { mode: "canary", candidate: 2, canary_weight: 0.2 });
    await twoVersions(repo.path, "sticky", scaleOnnx(3), { mode: "canary", candidate: 2, canary_weight: 0.5, sticky: "client" });
    await twoVersions(repo.path, "reload", scaleOnnx(3));
    await writeModel(repo.path, "misconfigured", 1, scaleOnnx(2), modelConfig({ mode: "shadow", candidate: 3 }, { specific: [1] }));
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    await store.ready();
    t = await startTestServer({ model_repository: repo.path, rollout_poll_secs: 0.2, log_level: "info" }, store);
  });

  after(async () => {
    await t?.stop();
    await store?.close();
    await repo?.remove();
    await dirs?.remove();
  });

  test("shadow: the client gets the primary's answer; the candidate's rows are logged as shadow rows of the same request", async () => {
    const xs = Array.from({ length: 12 }, (_, i) => [i + 1, i + 0.5, -i - 1]);
    const requests = xs.map((x) => inferRequest("scale", x));
    const responses = await Promise.all(requests.map((r) => infer(t.client, r, "shadow-client")));
    assertPrimaryAnswers(responses, xs);
    const rows = await rowsOnceLogged(store, "scale", (r) => r.length === 2 * xs.length);
    for (const [i, request] of requests.entries()) {
      const [primary, shadow] = ["primary", "shadow"].map((role) => rows.find((r) => r.request_id === request.id && r.role === role));
      assert.ok(primary && shadow, `request ${request.id} has a primary and a shadow row`);
      assert.equal(primary.model_version, "1");
      assert.equal(shadow.model_version, "2");
      assert.deepEqual(
        shadow.scores.map(Number),
        xs[i]!.map((v) => v * 3),
      );
      assert.equal(shadow.status, "OK");
      assert.deepEqual([shadow.timestamp_us, shadow.trace_id, shadow.client], [primary.timestamp_us, primary.trace_id, "shadow-client"]);
    }
    const metrics = await metricsText(t);
    assert.equal(metricValue(metrics, "vigil_rollout_requests_total", { model: "scale", version: "1", role: "primary" }), xs.length);
    assert.equal(metricValue(metrics, "vigil_rollout_requests_total", { model: "scale", version: "2", role: "shadow" }), xs.length);
    // ModelStatistics of the candidate count its shadow runs.
    const stats = await unary(t.client.modelStatistics, t.client, { name: "scale", version: "2" });
    assert.equal(stats.modelStats[0]!.inferenceCount, BigInt(xs.length));
  });

  test("a candidate that fails or answers NaN changes nothing for the client; only its shadow rows show it", async () => {
    const xs = [
      [1, 1, 1],
      [2, 0, 1],
      [9, 9, 9],
    ];
    const requests = xs.map((x) => inferRequest("fragile", x));
    const responses = await Promise.all(requests.map((r) => infer(t.client, r)));
    assertPrimaryAnswers(responses, xs);
    const rows = await rowsOnceLogged(store, "fragile", (r) => r.length === 2 * xs.length);
    const byRole = (role: string) => requests.map((request) => rows.find((r) => r.request_id === request.id && r.role === role)!);
    assert.deepEqual(
      byRole("primary").map((r) => r.status),
      ["OK", "OK", "OK"],
    );
    const shadows = byRole("shadow");
    assert.deepEqual(shadows[0]!.scores.map(Number), [11, 11, 11]);
    assert.equal(shadows[1]!.status, "NON_FINITE_OUTPUT");
    assert.notEqual(shadows[2]!.status, "OK");
    assert.notEqual(shadows[2]!.status, "NON_FINITE_OUTPUT");
    assert.notEqual(shadows[2]!.error, "");
    const metrics = await metricsText(t);
    assert.equal(metricValue(metrics, "vigil_shadow_skipped_total", { model: "fragile", version: "2", reason: "failed" }), 1);
  });

  test("a slow candidate changes no answer; shadows beyond shadow_max_queue are skipped and counted, never queued", async () => {
    const count = 24;
    const xs = Array.from({ length: count }, (_, i) => [i, 1, 2]);
    const responses = await Promise.all(xs.map((x) => infer(t.client, inferRequest("slow", x))));
    assertPrimaryAnswers(responses, xs);
    // Each request's shadow either ran (a shadow row) or was skipped (counted): together, one per request.
    const settled = await eventually(
      async () => {
        await store.predictions.flush();
        const shadows = (await loggedRows(store.engine, "slow")).filter((r) => r.role === "shadow");
        const skipped = metricValue(await metricsText(t), "vigil_shadow_skipped_total", { model: "slow", version: "2", reason: "queue_full" });
        return { shadows: shadows.length, skipped, ok: shadows.every((r) => r.status === "OK") };
      },
      (v) => v.shadows + v.skipped === count,
      "every shadow of the slow candidate run or skipped",
    );
    assert.ok(settled.shadows >= 1 && settled.ok, `shadow runs logged as OK: ${JSON.stringify(settled)}`);
  });

  test("canary weight: the candidate's share of 2,000 requests is within 4.5 binomial sigma of 0.2; each is logged with its role", async () => {
    const n = 2000;
    const weight = 0.2;
    const responses = await inferMany(n, 16, () => infer(t.client, inferRequest("canary", [1, 2, 3])));
    const canaries = responses.filter((r) => versionOf(r) === "2");
    for (const r of canaries) assert.deepEqual(Array.from(rawFloat32(r)), [3, 6, 9]);
    const tolerance = 4.5 * Math.sqrt((weight * (1 - weight)) / n);
    assert.ok(Math.abs(canaries.length / n - weight) <= tolerance, `candidate share ${canaries.length / n} is within ${tolerance} of ${weight}`);
    const rows = await rowsOnceLogged(store, "canary", (r) => r.length === n);
    assert.equal(rows.filter((r) => r.role === "canary" && r.model_version === "2").length, canaries.length);
    assert.equal(rows.filter((r) => r.role === "primary" && r.model_version === "1").length, n - canaries.length);
    // A request naming a version gets exactly that version.
    for (const version of ["1", "2"]) assert.equal((await infer(t.client, inferRequest("canary", [1, 2, 3], { version }))).modelVersion, version);
  });

  test("sticky by client: one client always gets the same version", async () => {
    const clients = Array.from({ length: 30 }, (_, i) => `client-${i}`);
    const versions = new Map<string, Set<string>>();
    for (const client of clients) {
      const answers = await Promise.all(Array.from({ length: 5 }, () => infer(t.client, inferRequest("sticky", [1, 1, 1]), client)));
      versions.set(client, new Set(answers.map(versionOf)));
    }
    for (const [client, seen] of versions) assert.equal(seen.size, 1, `${client} got versions ${[...seen].join(", ")}`);
    const candidates = [...versions.values()].filter((seen) => seen.has("2")).length;
    assert.ok(candidates > 0 && candidates < clients.length, `both versions serve some clients (${candidates} of ${clients.length} on the candidate)`);
  });

  test("a 'started' event per policy at start-up; a 'rolled_back' event takes the candidate out of traffic", async () => {
    const [started] = await listRolloutEvents(store.engine, { model: "canary" });
    assert.ok(started, "the server wrote a started event");
    assert.deepEqual(
      [started.action, started.actor, started.primaryVersion, started.candidateVersion, started.mode],
      ["started", "server", "1", "2", "canary"],
    );
    assert.equal(JSON.parse(started.policy).canary_weight, 0.2);
    await saveRolloutEvent(store.engine, { ...started, timestampMs: Date.now(), action: "rolled_back", actor: "monitor", reason: "the candidate is worse" });
    await eventually(
      async () => t.logs.some((line) => line.model === "canary" && String(line.msg).includes("rollback of model canary applied")),
      Boolean,
      "the rollback applied",
    );
    const responses = await inferMany(200, 8, () => infer(t.client, inferRequest("canary", [1, 2, 3])));
    assert.deepEqual(new Set(responses.map(versionOf)), new Set(["1"]));
    // Named versions still reach the candidate.
    assert.equal((await infer(t.client, inferRequest("canary", [1, 2, 3], { version: "2" }))).modelVersion, "2");
  });

  test("a rollout naming a version the version policy does not load is refused, naming the loaded versions", async () => {
    const index = await unary(t.client.repositoryIndex, t.client, { repositoryName: "", ready: false });
    const entry = index.models.find((m) => m.name === "misconfigured");
    assert.equal(entry?.state, "UNAVAILABLE");
    assert.match(entry!.reason, /names version 3 as its candidate, but the version_policy loads only version 1/);
    const load = (config: object) =>
      unary(t.client.repositoryModelLoad, t.client, {
        repositoryName: "",
        modelName: "reload",
        parameters: { config: { stringParam: JSON.stringify(config) } },
      });
    const refused = await rejection(load({ rollout: { mode: "canary", candidate: 5 } }));
    assert.equal(refused.code, status.FAILED_PRECONDITION);
    assert.match(refused.details, /names version 5 as its candidate, but the version_policy loads only versions 1, 2/);
  });

  test("a new policy through RepositoryModelLoad takes effect without a restart and writes 'started'", async () => {
    assert.equal((await infer(t.client, inferRequest("reload", [1, 1, 1]))).modelVersion, "2", "without a rollout the highest version serves");
    const rollout = { mode: "canary", candidate: 2, primary: 1, canary_weight: 0 };
    await unary(t.client.repositoryModelLoad, t.client, {
      repositoryName: "",
      modelName: "reload",
      parameters: { config: { stringParam: JSON.stringify({ rollout }) } },
    });
    const responses = await inferMany(20, 4, () => infer(t.client, inferRequest("reload", [1, 1, 1])));
    assert.deepEqual(new Set(responses.map(versionOf)), new Set(["1"]));
    const events = await eventually(
      () => listRolloutEvents(store.engine, { model: "reload" }),
      (e) => e.length === 1,
      "the started event of reload",
    );
    assert.deepEqual([events[0]!.action, events[0]!.primaryVersion, events[0]!.candidateVersion], ["started", "1", "2"]);
  });

  test("poll mode: a config.json that gains a rollout applies it without a restart and writes 'started'", async () => {
    const polled = await tempRepository();
    await twoVersions(polled.path, "polled", scaleOnnx(3));
    const server = await startTestServer(
      { model_repository: polled.path, model_control_mode: "poll", repository_poll_secs: 0.1, rollout_poll_secs: 0.2 },
      store,
    );
    try {
      assert.equal((await infer(server.client, inferRequest("polled", [1, 1, 1]))).modelVersion, "2");
      await writeFile(join(polled.path, "polled", "config.json"), JSON.stringify(modelConfig({ mode: "shadow", candidate: 2, primary: 1 })));
      await eventually(
        () => infer(server.client, inferRequest("polled", [1, 1, 1])).then(versionOf),
        (v) => v === "1",
        "the primary answering",
      );
      const events = await eventually(
        () => listRolloutEvents(store.engine, { model: "polled" }),
        (e) => e.length === 1,
        "the started event of polled",
      );
      assert.deepEqual([events[0]!.action, events[0]!.mode, events[0]!.actor], ["started", "shadow", "server"]);
    } finally {
      await server.stop();
      await polled.remove();
    }
  });
});

describe("rollouts in a pool of workers", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  before(async () => {
    dirs = await tempDir("vigil-rollout-workers-");
    repo = await tempRepository();
    await addDemoModel(repo.path);
  });
  after(async () => {
    await repo?.remove();
    await dirs?.remove();
  });

  test("each worker routes and shadows; rows come through the primary with their role; one 'started' per policy; a rollback reaches every worker", {
    timeout: 180_000,
  }, async (ctx) => {
    const canary = { mode: "canary", candidate: 2, canary_weight: 1 };
    await twoVersions(repo.path, "shadowed", scaleOnnx(3), { mode: "shadow", candidate: 2 });
    await twoVersions(repo.path, "canaried", scaleOnnx(3), canary);
    // The canary was rolled back before this start: it must stay out of traffic, in every worker.
    const policy = parseModelConfig("canaried", modelConfig(canary)).rollout!;
    const earlier = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    await earlier.ready();
    await saveRolloutEvent(earlier.engine, {
      timestampMs: Date.now(),
      modelName: "canaried",
      policyId: rolloutPolicyId("canaried", policy),
      action: "rolled_back",
      mode: "canary",
      primaryVersion: "1",
      candidateVersion: "2",
      actor: "cli",
      reason: "taken out by hand",
      policy: JSON.stringify(policy),
    });
    await earlier.close();

    const serve = await serveDemo(
      {
        ...process.env,
        ...storeEnv(dirs.path),
        VIGIL_MODEL_REPOSITORY: repo.path,
        VIGIL_ROLLOUT_POLL_SECS: "0.2",
        VIGIL_LOG_LEVEL: "debug",
        VIGIL_TRACING: "false",
        VIGIL_METRICS_PORT: "0",
      },
      { owner: ctx, args: ["--workers", "2"] },
    );
    await eventually(async () => serve.logs.find((l) => l.msg === "2 workers serving on one port"), Boolean, "the pool to serve", 60_000);
    await eventually(
      async () => new Set(serve.logs.filter((l) => l.model === "canaried" && String(l.msg).includes("rolled back: every request")).map((l) => l.pid)).size,
      (workers) => workers === 2,
      "both workers to know the rollback",
    );
    // Connections of their own: the primary hands each new one to the next worker.
    const clients = Array.from(
      { length: 4 },
      () => new GRPCInferenceServiceClient(serve.address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }),
    );
    ctx.after(() => {
      for (const c of clients) c.close();
    });
    const xs = Array.from({ length: 16 }, (_, i) => [i + 1, 2, 3]);
    const shadowed = xs.map((x) => inferRequest("shadowed", x));
    assertPrimaryAnswers(await Promise.all(shadowed.map((r, i) => infer(clients[i % clients.length]!, r))), xs);
    assertPrimaryAnswers(await Promise.all(xs.map((x, i) => infer(clients[i % clients.length]!, inferRequest("canaried", x)))), xs);
    const answeredBy = new Set(serve.logs.filter((l) => l.msg === "inference answered" && String(l.model).startsWith("shadowed")).map((l) => l.pid));
    serve.child.kill("SIGTERM");
    assert.equal(await serve.exited, 0);

    const engine = new EmbeddedEngine(join(dirs.path, "data"));
    try {
      const rows = await loggedRows(engine, "shadowed");
      for (const request of shadowed) {
        assert.deepEqual(
          rows.filter((r) => r.request_id === request.id).map((r) => [r.role, r.model_version, r.status]),
          [
            ["primary", "1", "OK"],
            ["shadow", "2", "OK"],
          ],
        );
      }
      const started = await listRolloutEvents(engine, { model: "shadowed" });
      assert.deepEqual(
        started.map((e) => [e.action, e.actor]),
        [["started", "server"]],
        "the process that owns the store wrote one started event for both workers",
      );
      const canaried = await listRolloutEvents(engine, { model: "canaried" });
      assert.deepEqual(
        canaried.map((e) => e.action),
        ["rolled_back"],
        "a rolled-back policy is not started again",
      );
    } finally {
      await engine.close();
    }
    assert.equal(answeredBy.size, 2, "both workers answered (and shadowed) requests");
  });
});

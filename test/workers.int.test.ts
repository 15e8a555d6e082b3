import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Metadata, type ServiceError, credentials, status } from "@grpc/grpc-js";
import { FeedbackClient, GRPCInferenceServiceClient } from "@vigil/proto";
import { EmbeddedEngine, openEngine } from "@vigil/store";
import { startClickHouseHttp } from "./support/clickhouse-http.js";
import { unary } from "./support/grpc.js";
import type { ProcessOwner } from "./support/processes.js";
import { FLIGHT_ROWS, contentsRequest } from "./support/requests.js";
import { eventually } from "./support/store.js";
import { type VigilProcess, demoWorkspace, serveDemo, spawnVigil, storeEnv } from "./support/vigil.js";
import { metricValue } from "./support/metrics.js";

const WORKERS = 2;
const REQUEST_DEADLINE_MS = 30_000;
/** Connections the tests open: the primary hands each new connection to the next worker in turn. */
const CONNECTIONS = 4;

/** A client on a connection of its own (grpc-js otherwise shares one connection per address). */
function ownConnection(address: string) {
  // Each its own connection; one whose worker was killed retries within 2 s rather than after
  // grpc-js's default backoff (growing to two minutes), which can outlast the test's wait.
  const options = { "grpc.use_local_subchannel_pool": 1, "grpc.initial_reconnect_backoff_ms": 200, "grpc.max_reconnect_backoff_ms": 2000 };
  return {
    inference: new GRPCInferenceServiceClient(address, credentials.createInsecure(), options),
    feedback: new FeedbackClient(address, credentials.createInsecure(), options),
    close() {
      this.inference.close();
      this.feedback.close();
    },
  };
}
type Connection = ReturnType<typeof ownConnection>;

const infer = (client: GRPCInferenceServiceClient, id: string, row: number) =>
  unary(
    client.modelInfer,
    client,
    contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: FLIGHT_ROWS[row % FLIGHT_ROWS.length]! } }], {
      id,
    }),
    new Metadata(),
    // A bound, so a request stuck on a killed worker's connection fails instead of holding the test.
    { deadline: Date.now() + REQUEST_DEADLINE_MS },
  );

/** A load whose Triton `config` parameter changes the model's batching window to `delayUs`. */
const loadWithDelay = (client: GRPCInferenceServiceClient, delayUs: number) =>
  unary(client.repositoryModelLoad, client, {
    repositoryName: "",
    modelName: "flights",
    parameters: { config: { stringParam: JSON.stringify({ dynamic_batching: { max_queue_delay_microseconds: delayUs } }) } },
  });

/** The batching window each connection's worker has for the model. */
const delaysSeen = (connections: Connection[]) =>
  Promise.all(
    connections.map(async (c) => {
      const metadata = await unary(c.inference.modelMetadata, c.inference, { name: "flights", version: "" }, new Metadata(), {
        deadline: Date.now() + REQUEST_DEADLINE_MS,
      });
      return (JSON.parse(metadata.properties.dynamic_batching!) as { max_queue_delay_us: number }).max_queue_delay_us;
    }),
  );

/** The pids of the workers that logged "worker N serving", by slot, in order (a replacement comes later). */
const servingLogs = (serve: VigilProcess) => serve.logs.filter((l) => typeof l.msg === "string" && /^worker \d+ serving$/.test(l.msg));

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Rows of the prediction log (or labels) of a stopped pool, by request id. */
async function loggedIds(dataDir: string, table: "predictions" | "labels", prefix: string): Promise<string[]> {
  const engine = new EmbeddedEngine(join(dataDir, "data"));
  try {
    const rows = await engine.query<{ request_id: string }>(
      `SELECT request_id FROM ${table} WHERE startsWith(request_id, {prefix:String}) ${table === "predictions" ? "AND status = 'OK'" : ""}`,
      { prefix },
    );
    return rows.map((r) => r.request_id);
  } finally {
    await engine.close();
  }
}

describe("vigil serve --workers", () => {
  const workspace = demoWorkspace("vigil-workers-");

  /** `vigil serve --workers 2` with its store and spool under `data` (and `env`); resolves once both workers serve. */
  async function servePool(data: string, owner: ProcessOwner, env: NodeJS.ProcessEnv = {}) {
    const serve = await serveDemo(
      {
        ...process.env,
        ...storeEnv(data),
        VIGIL_MODEL_REPOSITORY: workspace.repository,
        VIGIL_METRICS_PORT: "0",
        VIGIL_LOG_LEVEL: "info",
        VIGIL_TRACING: "false",
        ...env,
      },
      { owner, args: ["--workers", String(WORKERS)] },
    );
    const pool = await eventually(async () => serve.logs.find((l) => l.msg === `${WORKERS} workers serving on one port`), Boolean, "the pool to serve", 60_000);
    const metrics = serve.logs.find((l) => String(l.msg).startsWith("Prometheus metrics endpoint listening"))!.url as string;
    return { serve, pids: pool!.pids as number[], metrics };
  }

  /** SIGTERM to the primary: it exits 0 and no worker is left running. */
  async function stopPool(serve: VigilProcess, pids: number[]) {
    serve.child.kill("SIGTERM");
    assert.equal(await serve.exited, 0, "a graceful stop");
    assert.deepEqual(pids.filter(isRunning), [], "every worker has exited");
  }

  test("requests spread over the workers; /metrics, ModelStatistics and labels cover them all; load and unload reach every worker", {
    timeout: 180_000,
  }, async (ctx) => {
    const data = join(workspace.dir, "spread");
    const { serve, pids, metrics } = await servePool(data, ctx, { VIGIL_LOG_LEVEL: "debug" });
    assert.equal(new Set(pids).size, WORKERS);
    assert.ok(!pids.includes(serve.child.pid!), "the workers are processes of their own");
    const connections: Connection[] = Array.from({ length: CONNECTIONS }, () => ownConnection(serve.address));
    ctx.after(() => {
      for (const c of connections) c.close();
    });
    const perConnection = 10;
    await Promise.all(
      connections.map(async (c, k) => {
        for (let i = 0; i < perConnection; i++) await infer(c.inference, `spread-${k}-${i}`, i);
      }),
    );
    const sent = CONNECTIONS * perConnection;
    const answeredBy = new Set(serve.logs.filter((l) => l.msg === "inference answered" && String(l.request_id).startsWith("spread-")).map((l) => l.pid));
    assert.deepEqual([...answeredBy].sort(), [...pids].sort(), "both workers answered requests");

    for (const c of connections) {
      const stats = (await unary(c.inference.modelStatistics, c.inference, { name: "flights", version: "" })).modelStats;
      assert.equal(stats.length, 1);
      assert.equal(stats[0]!.inferenceCount, BigInt(sent), "ModelStatistics, asked of any worker, counts every worker's requests");
      assert.equal(stats[0]!.inferenceStats!.success!.count, BigInt(sent));
    }
    const unknown = await unary(connections[0]!.inference.modelStatistics, connections[0]!.inference, { name: "nope", version: "" }).catch(
      (e: ServiceError) => e,
    );
    assert.equal((unknown as ServiceError).code, status.NOT_FOUND);

    const scrape = () => fetch(metrics).then((r) => r.text());
    const text = await scrape();
    assert.equal(metricValue(text, "vigil_inference_requests_total", { model: "flights", status: "OK" }), sent, "/metrics sums the workers' counters");
    assert.equal(metricValue(text, "vigil_inference_request_duration_seconds_count", { model: "flights" }), sent, "and their histograms");
    assert.equal(metricValue(text, "vigil_model_state", { model: "flights", state: "READY" }), 1);

    // Labels go through the primary's writer like rows; each connection's call lands on the worker it is connected to.
    await Promise.all(
      connections.map((c, k) =>
        unary(c.feedback.submitLabels, c.feedback, {
          modelName: "flights",
          source: "test",
          labels: [{ requestId: `spread-${k}-0`, rowIndex: 0, label: "on_time" }],
        }),
      ),
    );

    await unary(connections[1]!.inference.repositoryModelUnload, connections[1]!.inference, { repositoryName: "", modelName: "flights", parameters: {} });
    // vigil_model_state is the highest over the workers: READY at 0 means no worker serves the model.
    assert.equal(metricValue(await scrape(), "vigil_model_state", { model: "flights", state: "READY" }), 0, "unloaded on every worker");
    for (const c of connections) assert.equal((await unary(c.inference.modelReady, c.inference, { name: "flights", version: "" })).ready, false);
    await unary(connections[2]!.inference.repositoryModelLoad, connections[2]!.inference, { repositoryName: "", modelName: "flights", parameters: {} });
    const loaded = await scrape();
    assert.equal(metricValue(loaded, "vigil_model_state", { model: "flights", state: "UNAVAILABLE" }), 0, "loaded again on every worker");
    assert.equal(metricValue(loaded, "vigil_model_state", { model: "flights", state: "READY" }), 1);
    for (const c of connections) assert.equal((await unary(c.inference.modelReady, c.inference, { name: "flights", version: "" })).ready, true);

    await loadWithDelay(connections[3]!.inference, 123);
    assert.deepEqual(await delaysSeen(connections), Array(CONNECTIONS).fill(123), "a load's config override reaches every worker");

    await stopPool(serve, pids);
    assert.equal((await loggedIds(data, "predictions", "spread-")).length, sent, "every worker's rows are in the one log");
    assert.equal((await loggedIds(data, "labels", "spread-")).length, CONNECTIONS);
  });

  test("a worker killed with SIGKILL under load: every answered request is in the log, and the worker is replaced", { timeout: 180_000 }, async (ctx) => {
    const data = join(workspace.dir, "kill");
    const { serve, pids } = await servePool(data, ctx);
    const connections: Connection[] = Array.from({ length: CONNECTIONS }, () => ownConnection(serve.address));
    ctx.after(() => {
      for (const c of connections) c.close();
    });
    // A replacement loads the repository as on disk; the pool hands it the override the others run with.
    await loadWithDelay(connections[0]!.inference, 321);
    const answered: string[] = [];
    let failed = 0;
    let running = true;
    const load = Promise.all(
      connections.map(async (c, k) => {
        for (let i = 0; running; i++) {
          const id = `kill-${k}-${i}`;
          await infer(c.inference, id, i).then(
            () => answered.push(id),
            () => failed++,
          );
        }
      }),
    );
    await eventually(
      async () => answered.length,
      (n) => n >= 200,
      "load before the kill",
    );
    // With the primary paused, rows pile up on their way to it and no request may be answered
    // unacknowledged; a worker killed then takes whatever it had not handed over with it.
    const primary = serve.child.pid!;
    const victim = pids[0]!;
    process.kill(primary, "SIGSTOP");
    const answeredAtPause = answered.length;
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      process.kill(victim, "SIGKILL");
    } finally {
      process.kill(primary, "SIGCONT");
    }
    const answeredAtKill = answered.length;
    ctx.diagnostic(`worker ${victim} killed with ${answeredAtKill} answered`);
    const replaced = await eventually(
      async () => servingLogs(serve).filter((l) => l.worker === 0),
      (logs) => logs.length === 2,
      "a replacement for the killed worker",
      60_000,
    );
    const replacement = replaced[1]!.pid as number;
    assert.notEqual(replacement, victim);
    assert.ok(serve.logs.some((l) => l.msg === `worker 0 (pid ${victim}) was killed by SIGKILL; starting a replacement`));
    await eventually(
      async () => answered.length,
      (n) => n >= answeredAtKill + 200,
      "load after the replacement",
    );
    ctx.diagnostic(`replacement ${replacement} serving; ${answered.length} answered`);
    running = false;
    await load;
    ctx.diagnostic(`load loops ended; ${failed} failed`);
    // New connections, handed to each worker in turn, find the replacement running the override.
    // (Not the load's connections: one that reconnected in the instant its worker died can be
    // handed by Node's cluster to the dead worker and never answered, and grpc-js has no connect
    // timeout to give up on it; see docs/serving.md, "Workers".)
    const fresh: Connection[] = Array.from({ length: CONNECTIONS }, () => ownConnection(serve.address));
    ctx.after(() => {
      for (const c of fresh) c.close();
    });
    const delays = await eventually(
      () => delaysSeen(fresh).catch((error: Error) => [error.message]),
      (seen) => seen.length === CONNECTIONS && seen.every((d) => typeof d === "number"),
      "every connection answering model metadata again",
      90_000,
    );
    assert.deepEqual(delays, Array(CONNECTIONS).fill(321), "the replacement runs the override too");
    ctx.diagnostic("load stopped; stopping the pool");
    await stopPool(serve, [pids[1]!, replacement]);
    assert.equal(isRunning(victim), false);

    const logged = new Set(await loggedIds(data, "predictions", "kill-"));
    const missing = answered.filter((id) => !logged.has(id));
    ctx.diagnostic(
      `answered ${answered.length} (${answeredAtKill - answeredAtPause} while the primary was paused), failed ${failed} (in flight on the killed worker), logged OK ${logged.size}, missing ${missing.length}`,
    );
    assert.deepEqual(missing, [], "every answered request has its row");
  });

  test("on a ClickHouse server each worker writes its rows itself, through a spool directory of its own", { timeout: 180_000 }, async (ctx) => {
    const data = join(workspace.dir, "server");
    const clickhouse = await startClickHouseHttp(join(data, "clickhouse"), { owner: ctx });
    const { serve, pids } = await servePool(data, ctx, { VIGIL_CLICKHOUSE_URL: clickhouse.url });
    const recording = serve.logs.filter((l) => l.msg === "recording every request in the prediction log" && l.worker !== undefined);
    assert.deepEqual(
      recording.map((l) => [l.pid, l.spool]).sort(),
      pids.map((pid, slot) => [pid, join(data, "spool", `worker-${slot}`)]).sort(),
      "each worker opened the store with its slot's spool directory",
    );
    const connections: Connection[] = Array.from({ length: CONNECTIONS }, () => ownConnection(serve.address));
    ctx.after(() => {
      for (const c of connections) c.close();
    });
    await Promise.all(connections.map(async (c, k) => infer(c.inference, `server-${k}`, k)));
    const engine = openEngine({ clickhouseUrl: clickhouse.url, dataDir: "" });
    ctx.after(() => engine.close());
    await eventually(
      () => engine.query<{ n: string | number }>("SELECT count() AS n FROM predictions WHERE startsWith(request_id, 'server-')").then((r) => Number(r[0]?.n)),
      (n) => n === CONNECTIONS,
      "every worker's rows in ClickHouse",
    );
    await stopPool(serve, pids);
  });

  test("a wrong worker count is refused at start, naming the setting", { timeout: 60_000 }, async (ctx) => {
    const env = { ...process.env, ...storeEnv(join(workspace.dir, "wrong")), VIGIL_MODEL_REPOSITORY: workspace.repository };
    for (const [extra, args, expected] of [
      [{ VIGIL_WORKERS: "many" }, [], /workers.*expected number/i],
      [{}, ["--workers", "0"], /workers must be an integer >= 1, got "0"/],
    ] as const) {
      const lines: string[] = [];
      const serve = spawnVigil(["serve", "--port", "0", ...args], { ...env, ...extra }, { owner: ctx, stderr: (line) => lines.push(line) });
      assert.notEqual(await serve.exited, 0);
      assert.match(lines.join("\n"), expected);
    }
  });
});

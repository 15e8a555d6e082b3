import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Metadata, status } from "@grpc/grpc-js";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { createLogger, loadServerConfig, startInferenceServer } from "@vigil/inference";
import { type Store, recentTraces, traceTree } from "@vigil/store";
import { inferenceClient, rejection, unary } from "./support/grpc.js";
import { freePort } from "./support/ports.js";
import { addDemoModel, tempRepository, typedModelConfig, typedModelOnnx, writeModel } from "./support/models.js";
import { openTestStore } from "./support/recording.js";
import { FLIGHT_ROWS, contentsRequest } from "./support/requests.js";
import { type TestServer, startTestServer } from "./support/server.js";
import { eventually, tempDir } from "./support/store.js";
import { type StartedProcess, startProcess } from "./support/processes.js";

const hex = (bytes: number) =>
  Array.from({ length: bytes }, () =>
    Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, "0"),
  ).join("");
const traceparent = (traceId: string, parentId: string, sampled = true) => {
  const m = new Metadata();
  m.set("traceparent", `00-${traceId}-${parentId}-${sampled ? "01" : "00"}`);
  return m;
};
/**
 * The execution provider the server reports it loaded a model on: the demo model prefers CUDA and
 * falls back to CPU, so which one runs depends on the host.
 */
async function loadedProvider(server: TestServer, model: string): Promise<string> {
  const provider = (await unary(server.client.modelMetadata, server.client, { name: model, version: "" })).properties.execution_provider;
  assert.ok(provider === "cpu" || provider === "cuda", `${model} reports execution provider ${provider}`);
  return provider;
}
const flightRequest = (id: string, row = FLIGHT_ROWS[0]!, model = "flights") =>
  contentsRequest(model, [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: row } }], { id });

interface SpanRow {
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  SpanKind: string;
  ServiceName: string;
  StatusCode: string;
  StatusMessage: string;
  SpanAttributes: Record<string, string>;
}

describe("telemetry", () => {
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  let t: TestServer;
  let sampledOut: TestServer;

  before(async () => {
    repo = await tempRepository();
    await addDemoModel(repo.path);
    await writeModel(repo.path, "typed", 1, typedModelOnnx(), typedModelConfig({ dynamic_batching: { mode: "window", max_queue_delay_us: 50_000 } }));
    dirs = await tempDir("vigil-telemetry-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    await store.ready();
    t = await startTestServer({ model_repository: repo.path }, store);
    sampledOut = await startTestServer({ model_repository: repo.path, tracing: { enabled: true, sample_ratio: 0 } }, store);
  });
  after(async () => {
    await t.stop();
    await sampledOut.stop();
    await store.close();
    await repo.remove();
    await dirs.remove();
  });

  const spansOf = async (traceId: string): Promise<SpanRow[]> => {
    await store.spans.flush();
    return store.engine.query<SpanRow>(
      "SELECT SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, StatusCode, StatusMessage, SpanAttributes FROM otel_traces WHERE TraceId = {id:String} ORDER BY Timestamp",
      { id: traceId },
    );
  };

  test("a client's traceparent continues through the server into the span rows and the prediction row", async () => {
    const traceId = hex(16);
    const clientSpan = hex(8);
    const response = await unary(t.client.modelInfer, t.client, flightRequest("traced-1"), traceparent(traceId, clientSpan));
    const spans = await spansOf(traceId);
    const root = spans.find((s) => s.SpanKind === "Server")!;
    assert.equal(root.SpanName, "inference.GRPCInferenceService/ModelInfer");
    assert.equal(root.ParentSpanId, clientSpan);
    assert.equal(root.ServiceName, "vigil-inference");
    assert.equal(root.StatusCode, "Unset");
    assert.deepEqual(
      {
        system: root.SpanAttributes["rpc.system"],
        service: root.SpanAttributes["rpc.service"],
        method: root.SpanAttributes["rpc.method"],
        code: root.SpanAttributes["rpc.grpc.status_code"],
      },
      { system: "grpc", service: "inference.GRPCInferenceService", method: "ModelInfer", code: "0" },
    );
    assert.equal(root.SpanAttributes["vigil.request_id"], response.id);
    assert.deepEqual(
      spans.filter((s) => s !== root).map((s) => [s.SpanName, s.ParentSpanId]),
      [
        ["validate", root.SpanId],
        ["queue", root.SpanId],
        ["execute", root.SpanId],
        ["record", root.SpanId],
      ],
    );
    const execute = spans.find((s) => s.SpanName === "execute")!;
    assert.equal(execute.SpanAttributes["vigil.execution_provider"], await loadedProvider(t, "flights"));
    await store.predictions.flush();
    const [row] = await store.engine.query<{ trace_id: string; span_id: string }>("SELECT trace_id, span_id FROM predictions WHERE request_id = 'traced-1'");
    assert.deepEqual(row, { trace_id: traceId, span_id: root.SpanId });
    const tree = await traceTree(store.engine, traceId);
    assert.equal(tree.length, 1);
    assert.deepEqual(
      tree[0]!.children.map((c) => c.name),
      ["validate", "queue", "execute", "record"],
    );
  });

  test("requests merged into one batch each get a trace whose execute span shows the batch", async () => {
    const traces = Array.from({ length: 6 }, () => hex(16));
    await Promise.all(
      traces.map((traceId, i) =>
        unary(
          t.client.modelInfer,
          t.client,
          contentsRequest("typed", [
            { name: "x", datatype: "FP32", shape: [1, 3], contents: { fp32Contents: [i, i, i] } },
            { name: "k", datatype: "INT64", shape: [1, 2], contents: { int64Contents: [1n, 2n] } },
          ]),
          traceparent(traceId, hex(8)),
        ),
      ),
    );
    const executes = await Promise.all(traces.map(async (id) => (await spansOf(id)).find((s) => s.SpanName === "execute")!));
    assert.ok(
      executes.every((e) => e !== undefined),
      "every trace has an execute span",
    );
    assert.ok(
      executes.some((e) => Number(e.SpanAttributes["vigil.batch_requests"]) > 1),
      "some requests shared an execution",
    );
    for (const e of executes) assert.equal(Number(e.SpanAttributes["vigil.batch_size"]), Number(e.SpanAttributes["vigil.batch_requests"]));
  });

  test("a failed request produces an error span with the status and message", async () => {
    const traceId = hex(16);
    await rejection(
      unary(t.client.modelInfer, t.client, contentsRequest("flights", [{ name: "features", datatype: "FP64", shape: [1, 5] }]), traceparent(traceId, hex(8))),
    );
    const [root] = (await spansOf(traceId)).filter((s) => s.SpanKind === "Server");
    assert.equal(root!.StatusCode, "Error");
    assert.match(root!.StatusMessage, /datatype FP64 but model "flights" expects FP32/);
    assert.equal(root!.SpanAttributes["rpc.grpc.status_code"], String(status.INVALID_ARGUMENT));
    const failed = await recentTraces(store.engine, { model: "flights", status: "INVALID_ARGUMENT" });
    assert.ok(
      failed.some((r) => r.traceId === traceId),
      "listed among recent failed traces",
    );
  });

  test("every log line about a request carries its request_id and trace_id", async () => {
    const traceId = hex(16);
    await unary(t.client.modelInfer, t.client, flightRequest("logged-ok"), traceparent(traceId, hex(8)));
    await rejection(unary(t.client.modelInfer, t.client, flightRequest("logged-bad", [1, 2]), traceparent(traceId, hex(8))));
    const lines = t.logs.filter((l) => l.request_id === "logged-ok" || l.request_id === "logged-bad");
    assert.deepEqual(
      lines.map((l) => [l.msg, l.request_id, l.trace_id]),
      [
        ["inference answered", "logged-ok", traceId],
        ["inference refused", "logged-bad", traceId],
      ],
    );
  });

  test("sampling: ratio 0 drops ordinary traces, keeps errors, and follows a sampled caller", async () => {
    const quiet = hex(16);
    const unsampledParent = hex(16);
    const sampledParent = hex(16);
    const failing = hex(16);
    const metadataWith = (id: string, sampled: boolean) => traceparent(id, hex(8), sampled);
    await unary(sampledOut.client.modelInfer, sampledOut.client, flightRequest("s-1"), metadataWith(quiet, false));
    await unary(sampledOut.client.modelInfer, sampledOut.client, flightRequest("s-2"), metadataWith(unsampledParent, false));
    await unary(sampledOut.client.modelInfer, sampledOut.client, flightRequest("s-3"), metadataWith(sampledParent, true));
    await rejection(unary(sampledOut.client.modelInfer, sampledOut.client, flightRequest("s-4", [1, 2, 3, 4]), metadataWith(failing, false)));
    assert.equal((await spansOf(quiet)).length, 0);
    assert.equal((await spansOf(unsampledParent)).length, 0);
    assert.equal((await spansOf(sampledParent)).length, 5);
    assert.equal((await spansOf(failing)).filter((s) => s.StatusCode === "Error").length, 1);
  });

  test("an embedded server given its own tracer provider makes its spans there, not in the store", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const config = loadServerConfig({ env: {}, overrides: { host: "127.0.0.1", port: 0, metrics_port: null, log_level: "warn", model_repository: repo.path } });
    const server = await startInferenceServer(config, { log: createLogger("warn"), store, tracerProvider: provider });
    const client = inferenceClient(`127.0.0.1:${server.port}`);
    const traceId = hex(16);
    try {
      await unary(client.modelInfer, client, flightRequest("own-provider"), traceparent(traceId, hex(8)));
    } finally {
      client.close();
      await server.shutdown();
    }
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    assert.deepEqual(spans.map((s) => s.name).sort(), ["execute", "inference.GRPCInferenceService/ModelInfer", "queue", "record", "validate"]);
    assert.equal((await spansOf(traceId)).length, 0);
    await provider.shutdown();
  });
});

describe("metrics scraped by a real Prometheus", () => {
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let t: TestServer;
  let prometheus: StartedProcess;
  let api: string;

  before(async () => {
    repo = await tempRepository();
    await addDemoModel(repo.path);
    dirs = await tempDir("vigil-prometheus-");
    t = await startTestServer({ model_repository: repo.path, log_level: "warn" });
    const config = join(dirs.path, "prometheus.yml");
    await writeFile(
      config,
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: vigil\n    static_configs:\n      - targets: ["127.0.0.1:${t.server.metricsPort}"]\n`,
    );
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    prometheus = startProcess(
      "prometheus",
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dirs.path, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: "ignore" },
    );
  });
  after(async () => {
    await prometheus.stop();
    await t.stop();
    await repo.remove();
    await dirs.remove();
  });

  const query = async (promql: string): Promise<number | undefined> => {
    const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`).catch(() => undefined);
    if (!response?.ok) return undefined;
    const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
    const value = body.data.result[0]?.value[1];
    return value === undefined ? undefined : Number(value);
  };

  test("request counters, latency and batch histograms, model state and process metrics arrive in Prometheus", { timeout: 90_000 }, async () => {
    const provider = await loadedProvider(t, "flights");
    for (let i = 0; i < 25; i++) await unary(t.client.modelInfer, t.client, flightRequest(`m-${i}`, FLIGHT_ROWS[i % 4]));
    for (let i = 0; i < 3; i++)
      await rejection(unary(t.client.modelInfer, t.client, contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 4] }])));
    for (let i = 0; i < 3; i++) await rejection(unary(t.client.modelInfer, t.client, flightRequest(`made-up-${i}`, FLIGHT_ROWS[0]!, `made-up-model-${i}`)));
    const expectations: Array<[string, (v: number | undefined) => boolean]> = [
      ['sum(vigil_inference_requests_total{model="flights",version="1",status="OK"})', (v) => v === 25],
      ['sum(vigil_inference_requests_total{model="flights",status="INVALID_ARGUMENT"})', (v) => v === 3],
      ['sum(vigil_inference_request_duration_seconds_count{model="flights"})', (v) => v === 25],
      ['sum(vigil_inference_queue_duration_seconds_count{model="flights"})', (v) => v === 25],
      ['sum(vigil_inference_batch_size_sum{model="flights"})', (v) => v === 25],
      ['sum(vigil_inference_requests_total{model="(unknown)",version="",status="NOT_FOUND"})', (v) => v === 3],
      ['count(vigil_inference_requests_total{model=~"made-up.*"})', (v) => v === undefined],
      ['sum(vigil_grpc_server_handled_total{method="ModelInfer"})', (v) => v === 31],
      ['vigil_model_state{model="flights",state="READY"}', (v) => v === 1],
      [`vigil_model_execution_provider{model="flights",version="1",provider="${provider}"}`, (v) => v === 1],
      ["vigil_process_resident_memory_bytes", (v) => v !== undefined && v > 0],
    ];
    for (const [promql, accept] of expectations) await eventually(() => query(promql), accept, promql, 60_000);
  });
});

describe("OTLP export", () => {
  test("with OTEL_EXPORTER_OTLP_ENDPOINT set, kept spans are also sent over OTLP/HTTP", { timeout: 60_000 }, async () => {
    const received: Array<{ path: string; type: string; body: Buffer }> = [];
    const { createServer: createHttpServer } = await import("node:http");
    const collector = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ path: req.url ?? "", type: String(req.headers["content-type"]), body: Buffer.concat(chunks) });
        res.writeHead(200, { "Content-Type": "application/x-protobuf" }).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    const repo = await tempRepository();
    await addDemoModel(repo.path);
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(collector.address() as { port: number }).port}`;
    const server = await startTestServer({ model_repository: repo.path, log_level: "warn" });
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    try {
      const traceId = hex(16);
      await unary(server.client.modelInfer, server.client, flightRequest("otlp-1"), traceparent(traceId, hex(8)));
      await server.stop();
      const traces = received.filter((r) => r.path === "/v1/traces");
      assert.ok(traces.length > 0, "the collector received a trace export");
      // OTLP/HTTP carries ids as hex in JSON and as raw bytes in protobuf.
      const carries = (r: { type: string; body: Buffer }) =>
        r.type.includes("json") ? r.body.toString("utf8").includes(traceId) : r.body.includes(Buffer.from(traceId, "hex"));
      assert.ok(traces.some(carries), `the export carries the request's trace id (${traces.map((r) => r.type).join(", ")})`);
    } finally {
      await new Promise((resolve) => collector.close(resolve));
      await repo.remove();
    }
  });
});

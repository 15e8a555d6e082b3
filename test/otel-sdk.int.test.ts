import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type Server, createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { Metadata, credentials } from "@grpc/grpc-js";
import { FeedbackClient } from "@vigil/proto";
import { EmbeddedEngine } from "@vigil/store";
import { inferenceClient, unary } from "./support/grpc.js";
import { freePort } from "./support/ports.js";
import { FLIGHT_ROWS, contentsRequest } from "./support/requests.js";
import { eventually } from "./support/store.js";
import { type VigilProcess, demoWorkspace, serveDemo, storeEnv } from "./support/vigil.js";

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const traceparent = (traceId: string) => `00-${traceId}-${hex(8)}-01`;
const withTraceparent = (traceId: string) => {
  const metadata = new Metadata();
  metadata.set("traceparent", traceparent(traceId));
  return metadata;
};

interface SpanRow {
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  SpanKind: string;
  ServiceName: string;
  ScopeName: string;
  ResourceAttributes: Record<string, string>;
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string };
}
interface OtlpMetricsBody {
  resourceMetrics: Array<{ resource: { attributes: OtlpAttribute[] }; scopeMetrics: Array<{ scope: { name: string }; metrics: Array<{ name: string }> }> }>;
}

/** A stand-in OpenTelemetry collector: an OTLP/HTTP receiver on loopback that keeps the JSON bodies posted to /v1/metrics. */
async function startMetricsReceiver(): Promise<{ url: string; bodies: OtlpMetricsBody[]; close: () => Promise<void> }> {
  const bodies: OtlpMetricsBody[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.url === "/v1/metrics" && String(request.headers["content-type"]).includes("json")) {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpMetricsBody);
      }
      response.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/v1/metrics`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Waits for the store's schema: a process stopped while it migrates fails for reasons of its own. */
const storeMigrated = (serve: VigilProcess) =>
  eventually(async () => serve.logs.some((l) => Array.isArray(l.applied)), Boolean, "the store's migrations", 60_000);

describe("vigil serve with the OpenTelemetry SDK", () => {
  const workspace = demoWorkspace("vigil-otel-sdk-");
  const run = hex(6);
  const token = "otel-test-token";
  const traces = { infer: hex(16), api: hex(16), labels: hex(16) };
  let receiver: Awaited<ReturnType<typeof startMetricsReceiver>>;
  let serve: VigilProcess & { address: string };
  let exitCode: number | null;
  let spans: SpanRow[] = [];

  before(async () => {
    receiver = await startMetricsReceiver();
    serve = await serveDemo(
      {
        ...storeEnv(workspace.dir),
        VIGIL_MODEL_REPOSITORY: workspace.repository,
        VIGIL_API_TOKENS: token,
        VIGIL_METRICS_PORT: "0",
        VIGIL_LOG_LEVEL: "info",
        OTEL_RESOURCE_ATTRIBUTES: `deployment.environment.name=otel-test,vigil.test.run=${run}`,
        OTEL_METRICS_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: receiver.url,
        OTEL_METRIC_EXPORT_INTERVAL: "500",
      },
      { args: ["--api-port", "0"] },
    );
    await storeMigrated(serve);
    const api = await eventually(async () => serve.logs.find((l) => l.msg === "monitor API listening"), Boolean, "the monitor API to listen");
    const client = inferenceClient(serve.address);
    const feedback = new FeedbackClient(serve.address, credentials.createInsecure());
    try {
      const features = { name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: FLIGHT_ROWS[0]! } };
      await unary(client.modelInfer, client, contentsRequest("flights", [features], { id: "otel-infer" }), withTraceparent(traces.infer));
      const response = await fetch(`${String(api!.url)}/api/v1/traces?model=flights`, {
        headers: { authorization: `Bearer ${token}`, traceparent: traceparent(traces.api) },
      });
      assert.equal(response.status, 200, await response.text());
      await unary(
        feedback.submitLabels,
        feedback,
        { modelName: "flights", labels: [{ requestId: "never-predicted", rowIndex: 0, label: "delayed" }], source: "otel-test" },
        withTraceparent(traces.labels),
      );
    } finally {
      client.close();
      feedback.close();
    }
    await eventually(
      async () => receiver.bodies.length,
      (n) => n > 0,
      "an OTLP metrics export",
      30_000,
    );
    exitCode = await serve.stop("SIGTERM");
    const engine = new EmbeddedEngine(storeEnv(workspace.dir).VIGIL_DATA_DIR);
    try {
      spans = await engine.query<SpanRow>(
        "SELECT TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, ScopeName, ResourceAttributes FROM otel_traces WHERE TraceId IN {ids:Array(String)} ORDER BY Timestamp",
        { ids: Object.values(traces) },
      );
    } finally {
      await engine.close();
    }
  });
  after(async () => {
    await serve?.stop();
    await receiver?.close();
  });

  const spansOf = (traceId: string): SpanRow[] => spans.filter((s) => s.TraceId === traceId);

  test("the process stopped cleanly when asked", () => {
    assert.equal(exitCode, 0);
  });

  test("the inference RPC is one server span with Vigil's children, not doubled by the grpc instrumentation, and carries the detected resource", () => {
    const infer = spansOf(traces.infer);
    const servers = infer.filter((s) => s.SpanKind === "Server");
    assert.deepEqual(
      servers.map((s) => s.SpanName),
      ["inference.GRPCInferenceService/ModelInfer"],
    );
    const root = servers[0]!;
    assert.deepEqual(
      infer.filter((s) => s !== root).map((s) => [s.SpanName, s.ParentSpanId === root.SpanId]),
      [
        ["validate", true],
        ["queue", true],
        ["execute", true],
        ["record", true],
      ],
    );
    assert.equal(root.ServiceName, "vigil-inference");
    const resource = root.ResourceAttributes;
    assert.equal(resource["vigil.test.run"], run);
    assert.equal(resource["deployment.environment.name"], "otel-test");
    assert.equal(resource["service.name"], "vigil-inference");
    assert.ok(resource["host.name"], "host detector attributes");
    assert.ok(Number(resource["process.pid"]) > 0, "process detector attributes");
  });

  test("the monitor API's HTTP request is traced by the http and Fastify instrumentations", () => {
    const api = spansOf(traces.api);
    const scopes = new Set(api.map((s) => s.ScopeName));
    assert.ok(scopes.has("@opentelemetry/instrumentation-http"), `scopes: ${[...scopes].join(", ")}`);
    assert.ok(scopes.has("@fastify/otel"), `scopes: ${[...scopes].join(", ")}`);
    const httpServer = api.find((s) => s.ScopeName === "@opentelemetry/instrumentation-http" && s.SpanKind === "Server")!;
    assert.ok(
      api.filter((s) => s !== httpServer).every((s) => api.some((p) => p.SpanId === s.ParentSpanId)),
      "the Fastify spans hang under the HTTP server span",
    );
    for (const span of api) assert.equal(span.ResourceAttributes["vigil.test.run"], run);
  });

  test("a gRPC call Vigil does not trace itself gets the grpc instrumentation's span, and its log lines carry the trace id", () => {
    const labels = spansOf(traces.labels);
    assert.deepEqual(
      labels.filter((s) => s.SpanKind === "Server").map((s) => [s.SpanName, s.ScopeName]),
      [["grpc.vigil.v1.Feedback/SubmitLabels", "@opentelemetry/instrumentation-grpc"]],
    );
    const line = serve.logs.find((l) => l.msg === "labels for request ids the prediction log does not hold");
    assert.equal(line?.trace_id, traces.labels);
    assert.equal(line?.span_id, labels[0]!.SpanId);
  });

  test("OTel metrics reach an OTLP/HTTP receiver, with the process's resource", () => {
    const exported = receiver.bodies.flatMap((body) => body.resourceMetrics);
    assert.ok(
      exported.every((r) => r.resource.attributes.some((a) => a.key === "vigil.test.run" && a.value.stringValue === run)),
      "every export carries the resource",
    );
    const names = new Set(exported.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.name))));
    assert.ok(
      [...names].some((name) => name.startsWith("http.server.")),
      `an http server metric among ${[...names].join(", ")}`,
    );
  });
});

describe("vigil serve with no OpenTelemetry exporter reachable", () => {
  const workspace = demoWorkspace("vigil-otel-unreachable-");

  test("stops cleanly when asked", { timeout: 120_000 }, async (t) => {
    const closedPort = await freePort();
    const serve = await serveDemo(
      {
        ...storeEnv(workspace.dir),
        VIGIL_MODEL_REPOSITORY: workspace.repository,
        VIGIL_METRICS_PORT: "0",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}`,
        OTEL_METRICS_EXPORTER: "otlp",
        OTEL_METRIC_EXPORT_INTERVAL: "200",
      },
      { owner: t },
    );
    await storeMigrated(serve);
    const client = inferenceClient(serve.address);
    try {
      const features = { name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: FLIGHT_ROWS[1]! } };
      await unary(client.modelInfer, client, contentsRequest("flights", [features], { id: "unreachable" }), withTraceparent(hex(16)));
    } finally {
      client.close();
    }
    assert.equal(await serve.stop("SIGTERM"), 0);
    assert.ok(
      serve.logs.some((l) => l.msg === "server stopped"),
      "the server went through its shutdown",
    );
  });
});

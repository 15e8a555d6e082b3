import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { LoadgenSummary } from "@vigil/cli";
import {
  accuracyChangeSchema,
  alertsSchema,
  classificationQuality,
  confusionSchema,
  windowConfusionSchema,
  errorSchema,
  healthSchema,
  histogramsSchema,
  modelResultsSchema,
  modelsSchema,
  rolloutSchema,
  overviewSchema,
  predictionDetailSchema,
  predictionPageSchema,
  type PredictionPageResponse,
  responseSchemas,
  segmentReportSchema,
  silenceSchema,
  silencesSchema,
  sloBurnSchema,
  slosSchema,
  startMonitorApi,
  traceSchema,
  tracesSchema,
} from "@vigil/monitor";
import { ServerEngine, type Store, migrate } from "@vigil/store";
import { startClickHouseHttp } from "./support/clickhouse-http.js";
import { type DemoTraffic, demoTraffic } from "./support/demo-traffic.js";
import { tempDir } from "./support/store.js";

const TOKEN = "api-token-for-tests";

/** What these tests need of a response schema (zod's), so they do not depend on zod themselves. */
interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: Error };
}

/** Every schema a route answers with, by its OpenAPI component name. */
const SCHEMAS = new Map(
  [
    healthSchema,
    overviewSchema,
    modelResultsSchema,
    confusionSchema,
    windowConfusionSchema,
    histogramsSchema,
    slosSchema,
    sloBurnSchema,
    alertsSchema,
    silencesSchema,
    silenceSchema,
    tracesSchema,
    traceSchema,
    predictionPageSchema,
    predictionDetailSchema,
    segmentReportSchema,
    accuracyChangeSchema,
    modelsSchema,
    rolloutSchema,
  ].map((schema): [string, Schema<unknown>] => [responseSchemas.get(schema)!.id, schema]),
);

interface OpenApi {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      { parameters: Array<{ name: string; in: string }>; responses: Record<string, { content: { "application/json": { schema: { $ref: string } } } }> }
    >
  >;
  components: { schemas: Record<string, unknown> };
}

/**
 * Calls the API and parses the body through the schema its status promises: the route's on
 * 200, the error schema otherwise. Parsing must keep every field (the schema describes the
 * whole body, not a part of it).
 */
async function call<T>(base: string, schema: Schema<T>, method: string, path: string, { body, token = TOKEN }: { body?: string; token?: string | null } = {}) {
  const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { "content-type": "application/json" } : {}) };
  const response = await fetch(`${base}${path}`, { method, headers, ...(body ? { body } : {}) });
  const raw: unknown = await response.json();
  if (response.status !== 200) return { status: response.status, error: errorSchema.parse(raw).error, body: undefined };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) assert.fail(`${method} ${path.slice(0, 120)}: ${parsed.error.message}`);
  assert.deepEqual(parsed.data, raw, `${method} ${path.slice(0, 120)}: the schema describes every field`);
  return { status: 200, error: undefined, body: parsed.data };
}

/**
 * The monitor HTTP API over real data: a server with the demo model records labelled traffic
 * (with traces) in the embedded store, the monitor job evaluates a window, and the API is called
 * over HTTP on 127.0.0.1.
 */
describe("monitor HTTP API", () => {
  let traffic: DemoTraffic;
  let store: Store;
  let api: Awaited<ReturnType<typeof startMonitorApi>>;
  let summary: LoadgenSummary;
  let from: string;
  let to: string;

  const get = <T>(schema: Schema<T>, path: string, token: string | null = TOKEN) => call(api.url, schema, "GET", path, { token });
  /** A 200 with its body parsed, or the test fails with the error the API gave. */
  const ok = async <T>(schema: Schema<T>, path: string) => {
    const { status, error, body } = await get(schema, path);
    assert.equal(status, 200, `${path}: ${error}`);
    return body!;
  };
  const send = <T>(schema: Schema<T>, method: string, path: string, body: string) => call(api.url, schema, method, path, { body });
  const openApi = async () => (await (await fetch(`${api.url}/api/openapi.json`)).json()) as OpenApi;
  const range = () => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;

  before(async () => {
    traffic = await demoTraffic(120);
    ({ store, summary } = traffic);
    from = new Date(traffic.startedMs - 60_000).toISOString();
    to = new Date(Date.now() + 60_000).toISOString();
    api = await traffic.startApi(TOKEN);
  });

  after(async () => {
    await api.close();
    await traffic.close();
  });

  test("every route but health and the OpenAPI document needs the bearer token", async () => {
    assert.equal((await get(healthSchema, "/api/v1/health", null)).status, 200);
    const missing = await get(overviewSchema, `/api/v1/overview?${range()}`, null);
    assert.deepEqual([missing.status, missing.error], [401, "missing credentials: send 'Authorization: Bearer <token>'"]);
    assert.deepEqual((await get(overviewSchema, `/api/v1/overview?${range()}`, "wrong")).status, 401);
    const openapi = await openApi();
    assert.equal(openapi.openapi, "3.1.0");
    assert.ok(openapi.paths["/api/v1/predictions"]!.get!.parameters.some((p) => p.name === "cursor"));
    assert.ok(openapi.paths["/api/v1/silences/{id}"]!.delete);
    assert.equal(
      Object.values(openapi.paths).reduce((n, methods) => n + Object.keys(methods).length, 0),
      24,
      "every route is described",
    );
  });

  test("the OpenAPI document gives every route its response schema, and every error the error schema", async () => {
    const openapi = await openApi();
    for (const [path, methods] of Object.entries(openapi.paths)) {
      for (const [method, route] of Object.entries(methods)) {
        const ref = route.responses["200"]!.content["application/json"].schema.$ref;
        const id = ref.replace("#/components/schemas/", "");
        assert.ok(SCHEMAS.has(id) && openapi.components.schemas[id], `${method} ${path}: 200 is ${ref}`);
        for (const status of ["400", "404", "503"])
          assert.equal(route.responses[status]!.content["application/json"].schema.$ref, "#/components/schemas/Error", `${method} ${path} ${status}`);
      }
    }
    assert.deepEqual(
      (openapi.components.schemas.TraceSpan as { properties: { children: { items: unknown } } }).properties.children.items,
      { $ref: "#/components/schemas/TraceSpan" },
      "spans nest by reference",
    );
  });

  test("overview: requests and latency percentiles from the rollups match what was served", async () => {
    const { totals, series } = await ok(overviewSchema, `/api/v1/overview?${range()}&model=flights`);
    assert.deepEqual([totals.requests, totals.errors], [summary.ok, 0]);
    assert.ok(totals.p50Ms !== null && totals.p99Ms !== null && totals.p50Ms > 0 && totals.p50Ms <= totals.p99Ms);
    assert.equal(
      series.reduce((a, p) => a + p.requests, 0),
      summary.ok,
    );
  });

  test("quality, drift and data-quality series as the monitor stored them; confusion computed now equals the library's", async () => {
    const quality = await ok(modelResultsSchema, `/api/v1/models/flights/quality?${range()}`);
    const accuracy = quality.points.find((p) => p.metric === "accuracy")!;
    assert.equal(accuracy.details.rows, summary.labelsSent);
    const drift = await ok(modelResultsSchema, `/api/v1/models/flights/drift?${range()}`);
    const inputs = new Set(drift.points.map((p) => p.feature));
    assert.deepEqual([...inputs].sort(), ["", "confidence", "destination", "distance", "hour", "origin", "prediction", "weekday"]);
    const dataQuality = await ok(modelResultsSchema, `/api/v1/models/flights/data-quality?${range()}`);
    const missing = dataQuality.points.filter((p) => p.metric === "missing_share").map((p) => p.feature);
    assert.deepEqual([...new Set(missing)].sort(), ["destination", "distance", "hour", "origin", "weekday"], "every feature input's missing share");
    assert.ok(dataQuality.points.every((p) => p.value >= 0 && p.value <= 1));
    const segment = await ok(segmentReportSchema, `/api/v1/models/flights/report?${range()}&segment=${encodeURIComponent("distance=0..500")}`);
    const sliced = segment.points.find((p) => p.metric === "accuracy" && p.feature === "")!;
    assert.equal(segment.segment, "distance=0..500");
    assert.ok(
      Number(sliced.details.rows) > 0 && Number(sliced.details.rows) < summary.labelsSent,
      `${String(sliced.details.rows)} of ${summary.labelsSent} rows`,
    );
    const middle = new Date((Date.parse(from) + Date.parse(to)) / 2).toISOString();
    const change = await ok(
      accuracyChangeSchema,
      `/api/v1/models/flights/explain?baselineFrom=${encodeURIComponent(from)}&baselineTo=${encodeURIComponent(middle)}&from=${encodeURIComponent(middle)}&to=${encodeURIComponent(to)}`,
    );
    assert.equal(change.baseline.rows + change.current.rows, summary.labelsSent, "the two ranges split the labelled rows");
    const weekdays = change.categories.filter((c) => c.input === "weekday").reduce((a, c) => a + c.contribution, 0);
    if (change.baseline.accuracy !== null && change.current.accuracy !== null)
      assert.ok(Math.abs(weekdays - (change.current.accuracy - change.baseline.accuracy)) < 1e-9, "weekday's terms add up to the change");
    const confusion = await ok(confusionSchema, `/api/v1/models/flights/confusion?${range()}`);
    const direct = await classificationQuality(store.engine, {
      model: "flights",
      classes: ["on_time", "delayed"],
      window: { fromUs: Date.parse(from) * 1000, toUs: Date.parse(to) * 1000 },
    });
    assert.deepEqual(confusion.confusion, direct.confusion);
    assert.equal(confusion.accuracy, accuracy.value);
    assert.equal(confusion.calibration.length > 0, true);
  });

  test("histograms: reference and current counts per input", async () => {
    const { inputs } = await ok(histogramsSchema, `/api/v1/models/flights/histograms?${range()}&version=1&feature=distance`);
    const distance = inputs[0]!;
    assert.ok("edges" in distance.bins, "distance is numerical");
    assert.equal(distance.bins.edges.length + 1, distance.reference.length);
    assert.equal(
      distance.current.reduce((a, b) => a + b, 0),
      summary.ok,
    );
    assert.equal(
      distance.reference.reduce((a, b) => a + b, 0),
      12_901,
      "the training months",
    );
    const unknown = await get(histogramsSchema, `/api/v1/models/flights/histograms?${range()}&version=1&feature=altitude`);
    assert.deepEqual(
      [unknown.status, unknown.error],
      [404, 'model flights does not monitor an input named "altitude" (inputs: hour, weekday, distance, origin, destination, prediction, confidence)'],
    );
  });

  test("prediction search pages by cursor without gaps or repeats, filters by label, and shows one row with its label and trace", async () => {
    const seen: Array<{ requestId: string; timestamp: string }> = [];
    let cursor: string | null = null;
    do {
      const page: PredictionPageResponse = await ok(
        predictionPageSchema,
        `/api/v1/predictions?${range()}&model=flights&limit=7${cursor ? `&cursor=${cursor}` : ""}`,
      );
      seen.push(...page.rows);
      cursor = page.nextCursor;
    } while (cursor);
    assert.equal(seen.length, summary.ok);
    assert.equal(new Set(seen.map((r) => r.requestId)).size, summary.ok, "no repeats");
    assert.ok(
      seen.every((r, i) => i === 0 || r.timestamp <= seen[i - 1]!.timestamp),
      "newest first",
    );
    const labelled = await ok(predictionPageSchema, `/api/v1/predictions?${range()}&hasLabel=true&limit=500`);
    assert.equal(labelled.rows.length, summary.labelsSent);
    const row = labelled.rows[0]!;
    const detail = await ok(predictionDetailSchema, `/api/v1/predictions/${encodeURIComponent(row.requestId)}/0`);
    assert.equal(detail.label, row.label);
    assert.deepEqual(
      detail.inputs.map((i) => i.name),
      ["hour", "weekday", "distance", "origin", "destination"],
    );
    assert.equal(detail.features.length, 5);
    assert.match(detail.traceId, /^[0-9a-f]{32}$/);
    const trace = await ok(traceSchema, `/api/v1/traces/${detail.traceId}`);
    assert.equal(trace.spans[0]!.name, "inference.GRPCInferenceService/ModelInfer");
    const traces = await ok(tracesSchema, `/api/v1/traces?${range()}&model=flights&limit=1000`);
    assert.equal(traces.length, summary.ok);
    assert.equal((await get(predictionDetailSchema, "/api/v1/predictions/nope/0")).status, 404);
  });

  test("silences: create, list, expire over HTTP", async () => {
    const created = await send(
      silenceSchema,
      "POST",
      "/api/v1/silences",
      JSON.stringify({ matchers: ['alertname="InputDrift"'], duration: "1h", createdBy: "api", comment: "test" }),
    );
    assert.equal(created.status, 200, created.error);
    const id = created.body!.id;
    assert.ok((await ok(silencesSchema, "/api/v1/silences")).some((s) => s.id === id));
    const expired = await send(silenceSchema, "DELETE", `/api/v1/silences/${id}`, "");
    assert.equal(expired.status, 200);
    assert.ok(expired.body!.endsAt <= Date.now());
    const bad = await send(silenceSchema, "POST", "/api/v1/silences", JSON.stringify({ matchers: ["alertname=x"], duration: "1h" }));
    assert.deepEqual([bad.status, bad.error], [400, 'matcher "alertname=x" is not name="value", name!="value", name=~"regex" or name!~"regex"']);
    assert.equal((await send(silenceSchema, "DELETE", "/api/v1/silences/00000000-0000-4000-8000-000000000000", "")).status, 404);
    for (const [when, message] of [
      [{ duration: "soon" }, /^duration: /],
      [{ duration: "-1h" }, /^duration: /],
      [{ endsAt: "-1" }, /^endsAt: /],
      [{ endsAt: "99999-01-01" }, /^endsAt: /],
      [{ endsAt: "2001-01-01T00:00:00Z" }, /./],
    ] as const) {
      const refused = await send(silenceSchema, "POST", "/api/v1/silences", JSON.stringify({ matchers: ['alertname="x"'], ...when }));
      assert.equal(refused.status, 400, `${JSON.stringify(when)}: ${refused.error}`);
      assert.match(String(refused.error), message);
    }
  });

  test("SLO status over its window, its burn per step, and alerts now and in the range", async () => {
    const [slo] = await ok(slosSchema, "/api/v1/slos");
    assert.deepEqual([slo!.slo, slo!.total, slo!.attainment, slo!.burnRates["1h"]], ["flights-availability", summary.ok, 1, 0]);
    const burn = await ok(sloBurnSchema, `/api/v1/slos/flights-availability/burn?${range()}`);
    assert.equal(
      burn.points.reduce((a, p) => a + p.total, 0),
      summary.ok,
    );
    assert.ok(Array.isArray(await ok(alertsSchema, "/api/v1/alerts")));
    assert.ok(Array.isArray(await ok(alertsSchema, `/api/v1/alerts/history?${range()}`)));
    assert.equal((await ok(healthSchema, "/api/v1/health")).status, "ok");
  });

  test("every parameter of every GET route, fed hostile values, answers 200 or a 4xx (400, 404, 414) and never 500, each with a body its schema describes", async () => {
    const openapi = await openApi();
    const hostile = [
      "' OR 1=1 --",
      "\\'; DROP TABLE predictions; --",
      "{model:String}",
      "%00",
      "\u0000",
      "-1",
      "1e309",
      "NaN",
      "x".repeat(3000),
      "../../etc/passwd",
      "<script>alert(1)</script>",
      "[]",
      "{}",
      "9".repeat(40),
    ];
    let calls = 0;
    for (const [path, methods] of Object.entries(openapi.paths)) {
      const route = methods.get;
      if (!route) continue;
      const schema = SCHEMAS.get(route.responses["200"]!.content["application/json"].schema.$ref.replace("#/components/schemas/", ""))!;
      for (const parameter of route.parameters) {
        for (const value of hostile) {
          const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) =>
            name === parameter.name
              ? encodeURIComponent(value)
              : name === "model"
                ? "flights"
                : name === "row"
                  ? "0"
                  : name === "slo"
                    ? "flights-availability"
                    : "x",
          );
          const query = parameter.in === "query" ? `?${parameter.name}=${encodeURIComponent(value)}` : "";
          const { status } = await get(schema, `${concrete}${query}`);
          calls++;
          assert.ok([200, 400, 404, 414].includes(status), `${concrete.slice(0, 120)}${query.slice(0, 80)} answered ${status}`);
        }
      }
    }
    assert.ok(calls > 500, `${calls} hostile calls`);
    assert.equal((await get(healthSchema, "/api/v1/health", null)).status, 200, "still serving");
  });

  test("bad input gets a 400 naming the field; filters are bound parameters, never SQL", async () => {
    const cases: Array<[string, RegExp]> = [
      [`/api/v1/overview?from=yesterday`, /query\.from: "yesterday" is not a time/],
      [`/api/v1/overview?from=-1h&to=-2h`, /"to" .* must come after "from"/],
      [`/api/v1/overview?step=soon`, /query\.step: "soon" is not a duration/],
      [`/api/v1/predictions?limit=100000`, /query\.limit: Too big/i],
      [`/api/v1/predictions?cursor=abc`, /cursor is not one this API returned/],
      [`/api/v1/traces/not-a-trace`, /path\.traceId: a trace id is 32 lowercase hex digits/],
      [`/api/v1/predictions/x/-1`, /path\.row/],
    ];
    for (const [path, message] of cases) {
      const { status, error } = await get(overviewSchema, path);
      assert.equal(status, 400, path);
      assert.match(error!, message);
    }
    for (const hostile of ["flights' OR 1=1 --", "flights\\'; DROP TABLE predictions; --", "{model:String}"]) {
      const { status, body } = await get(predictionPageSchema, `/api/v1/predictions?${range()}&model=${encodeURIComponent(hostile)}`);
      assert.deepEqual([status, body?.rows.length], [200, 0], hostile);
    }
    const big = await send(silenceSchema, "POST", "/api/v1/silences", JSON.stringify({ matchers: ['a="b"'], comment: "x".repeat(100_000), duration: "1h" }));
    assert.equal(big.status, 413);
    const malformed = await send(silenceSchema, "POST", "/api/v1/silences", "{not json");
    assert.equal(malformed.status, 400);
    const route = await get(healthSchema, "/api/v1/nothing");
    assert.match(route.error!, /no route GET \/api\/v1\/nothing; the routes are listed at \/api\/openapi.json/);
    assert.equal((await get(predictionPageSchema, `/api/v1/predictions?${range()}&model=flights&limit=1`)).status, 200, "still serving");
  });
});

/**
 * A store outage is the server's problem, not the caller's: while ClickHouse is down the API
 * answers 503 (retry later), never the 400 or 404 that would tell a caller its request was wrong.
 */
describe("monitor HTTP API while ClickHouse is down", () => {
  test("creating and expiring a silence, and the health check, answer 503 naming the store, to authenticated callers only", { timeout: 120_000 }, async () => {
    const dir = await tempDir("vigil-api-outage-");
    const clickhouse = await startClickHouseHttp(join(dir.path, "clickhouse"));
    // One attempt per read, so each call fails as soon as the connection is refused.
    const engine = new ServerEngine({ url: clickhouse.url, readAttempts: 1 });
    const api = await startMonitorApi({ engine, host: "127.0.0.1", port: 0, tokens: [TOKEN], models: async () => undefined, slos: [] });
    try {
      await migrate(engine);
      const created = await call(api.url, silenceSchema, "POST", "/api/v1/silences", {
        body: JSON.stringify({ matchers: ['alertname="InputDrift"'], duration: "1h" }),
      });
      assert.equal(created.status, 200, created.error);
      await clickhouse.kill();
      const refused = await call(api.url, silenceSchema, "POST", "/api/v1/silences", {
        body: JSON.stringify({ matchers: ['alertname="InputDrift"'], duration: "1h" }),
      });
      const expire = await call(api.url, silenceSchema, "DELETE", `/api/v1/silences/${created.body!.id}`);
      const health = await call(api.url, healthSchema, "GET", "/api/v1/health");
      const anonymousHealth = await call(api.url, healthSchema, "GET", "/api/v1/health", { token: null });
      for (const [what, answer] of [
        ["POST /silences", refused],
        ["DELETE /silences/:id", expire],
        ["GET /health", health],
      ] as const) {
        assert.equal(answer.status, 503, `${what}: ${answer.error}`);
        assert.match(answer.error!, /ClickHouse at http:\/\/127\.0\.0\.1:\d+\/default unreachable/, what);
      }
      assert.equal(anonymousHealth.status, 503);
      assert.doesNotMatch(anonymousHealth.error!, /127\.0\.0\.1|ClickHouse|default/, "an anonymous caller learns nothing about where the data lives");
    } finally {
      await api.close();
      await engine.close();
      await clickhouse.kill();
      await dir.remove();
    }
  });
});

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { LoadgenSummary } from "@vigil/cli";
import { classificationQuality, parseSlo, startMonitorApi } from "@vigil/monitor";
import type { Store } from "@vigil/store";
import { type DemoTraffic, demoTraffic } from "./support/demo-traffic.js";

const TOKEN = "api-token-for-tests";

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

  const get = async (path: string, token: string | null = TOKEN) => {
    const response = await fetch(`${api.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & { error?: string } };
  };
  const send = async (method: string, path: string, body: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) };
    const response = await fetch(`${api.url}${path}`, { method, headers, ...(body ? { body } : {}) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & { error?: string } };
  };
  const range = () => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;

  before(async () => {
    traffic = await demoTraffic(120);
    ({ store, summary } = traffic);
    from = new Date(traffic.startedMs - 60_000).toISOString();
    to = new Date(Date.now() + 60_000).toISOString();
    api = await startMonitorApi({
      engine: store.engine,
      host: "127.0.0.1",
      port: 0,
      tokens: [TOKEN],
      models: traffic.lookup,
      slos: [parseSlo({ name: "flights-availability", model: "flights", indicator: "availability", objective: 0.99, window: "1d" })],
    });
  });

  after(async () => {
    await api.close();
    await traffic.close();
  });

  test("every route but health and the OpenAPI document needs the bearer token", async () => {
    assert.equal((await get("/api/v1/health", null)).status, 200);
    const missing = await get(`/api/v1/overview?${range()}`, null);
    assert.deepEqual([missing.status, missing.body.error], [401, "missing credentials: send 'Authorization: Bearer <token>'"]);
    assert.deepEqual((await get(`/api/v1/overview?${range()}`, "wrong")).status, 401);
    const openapi = await fetch(`${api.url}/api/openapi.json`).then((r) => r.json() as Promise<{ openapi: string; paths: Record<string, Record<string, { parameters: Array<{ name: string }> }>> }>);
    assert.equal(openapi.openapi, "3.1.0");
    assert.ok(openapi.paths["/api/v1/predictions"]!.get!.parameters.some((p) => p.name === "cursor"));
    assert.ok(openapi.paths["/api/v1/silences/{id}"]!.delete);
    assert.equal(Object.values(openapi.paths).reduce((n, methods) => n + Object.keys(methods).length, 0), 17, "every route is described");
  });

  test("overview: requests and latency percentiles from the rollups match what was served", async () => {
    const { status, body } = await get(`/api/v1/overview?${range()}&model=flights`);
    assert.equal(status, 200);
    const totals = body.totals as { requests: number; errors: number; p50Ms: number; p99Ms: number; models: Array<{ model: string; requests: number }> };
    assert.deepEqual([totals.requests, totals.errors], [summary.ok, 0]);
    assert.ok(totals.p50Ms > 0 && totals.p50Ms <= totals.p99Ms);
    const series = body.series as Array<{ requests: number }>;
    assert.equal(series.reduce((a, p) => a + p.requests, 0), summary.ok);
  });

  test("quality and drift series as the monitor stored them; confusion computed now equals the library's", async () => {
    const quality = await get(`/api/v1/models/flights/quality?${range()}`);
    const accuracy = (quality.body.points as Array<{ metric: string; feature: string; value: number; details: { rows: number } }>).find((p) => p.metric === "accuracy")!;
    assert.equal(accuracy.details.rows, summary.labelsSent);
    const drift = await get(`/api/v1/models/flights/drift?${range()}`);
    const inputs = new Set((drift.body.points as Array<{ feature: string }>).map((p) => p.feature));
    assert.deepEqual([...inputs].sort(), ["", "confidence", "destination", "distance", "hour", "origin", "prediction", "weekday"]);
    const confusion = await get(`/api/v1/models/flights/confusion?${range()}`);
    const direct = await classificationQuality(store.engine, { model: "flights", classes: ["on_time", "delayed"], window: { fromUs: Date.parse(from) * 1000, toUs: Date.parse(to) * 1000 } });
    assert.deepEqual(confusion.body.confusion, direct.confusion);
    assert.equal(confusion.body.accuracy, accuracy.value);
    assert.equal((confusion.body.calibration as unknown[]).length > 0, true);
  });

  test("histograms: reference and current counts per input", async () => {
    const { body } = await get(`/api/v1/models/flights/histograms?${range()}&version=1&feature=distance`);
    const [distance] = body.inputs as Array<{ feature: string; bins: { edges: number[] }; reference: number[]; current: number[] }>;
    assert.equal(distance!.bins.edges.length + 1, distance!.reference.length);
    assert.equal(distance!.current.reduce((a, b) => a + b, 0), summary.ok);
    assert.equal(distance!.reference.reduce((a, b) => a + b, 0), 12_901, "the training months");
    const unknown = await get(`/api/v1/models/flights/histograms?${range()}&version=1&feature=altitude`);
    assert.deepEqual([unknown.status, unknown.body.error], [404, "model flights does not monitor an input named \"altitude\" (inputs: hour, weekday, distance, origin, destination, prediction, confidence)"]);
  });

  test("prediction search pages by cursor without gaps or repeats, filters by label, and shows one row with its label and trace", async () => {
    const seen: Array<{ requestId: string; timestamp: string }> = [];
    let cursor: string | null = null;
    do {
      const page = await get(`/api/v1/predictions?${range()}&model=flights&limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      assert.equal(page.status, 200);
      seen.push(...(page.body.rows as Array<{ requestId: string; timestamp: string }>));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    assert.equal(seen.length, summary.ok);
    assert.equal(new Set(seen.map((r) => r.requestId)).size, summary.ok, "no repeats");
    assert.ok(seen.every((r, i) => i === 0 || r.timestamp <= seen[i - 1]!.timestamp), "newest first");
    const labelled = await get(`/api/v1/predictions?${range()}&hasLabel=true&limit=500`);
    assert.equal((labelled.body.rows as unknown[]).length, summary.labelsSent);
    const row = (labelled.body.rows as Array<{ requestId: string; label: string }>)[0]!;
    const detail = await get(`/api/v1/predictions/${encodeURIComponent(row.requestId)}/0`);
    assert.equal(detail.body.label, row.label);
    assert.deepEqual(detail.body.featureNames, ["hour", "weekday", "distance", "origin", "destination"]);
    assert.equal((detail.body.features as number[]).length, 5);
    assert.match(detail.body.traceId as string, /^[0-9a-f]{32}$/);
    const trace = await get(`/api/v1/traces/${detail.body.traceId as string}`);
    assert.equal((trace.body.spans as Array<{ name: string }>)[0]!.name, "inference.GRPCInferenceService/ModelInfer");
    const traces = await get(`/api/v1/traces?${range()}&model=flights&limit=1000`);
    assert.equal((traces.body as unknown as unknown[]).length, summary.ok);
    assert.equal((await get("/api/v1/predictions/nope/0")).status, 404);
  });

  test("silences: create, list, expire over HTTP", async () => {
    const created = await send("POST", "/api/v1/silences", JSON.stringify({ matchers: ['alertname="InputDrift"'], duration: "1h", createdBy: "api", comment: "test" }));
    assert.equal(created.status, 200, created.body.error);
    const id = created.body.id as string;
    assert.ok(((await get("/api/v1/silences")).body as unknown as Array<{ id: string }>).some((s) => s.id === id));
    const expired = await send("DELETE", `/api/v1/silences/${id}`, "");
    assert.equal(expired.status, 200);
    assert.ok((expired.body.endsAt as number) <= Date.now());
    const bad = await send("POST", "/api/v1/silences", JSON.stringify({ matchers: ["alertname=x"], duration: "1h" }));
    assert.deepEqual([bad.status, bad.body.error], [400, 'matcher "alertname=x" is not name="value", name!="value", name=~"regex" or name!~"regex"']);
    assert.equal((await send("DELETE", "/api/v1/silences/00000000-0000-4000-8000-000000000000", "")).status, 404);
    for (const [when, message] of [
      [{ duration: "soon" }, /^duration: /],
      [{ duration: "-1h" }, /^duration: /],
      [{ endsAt: "-1" }, /^endsAt: /],
      [{ endsAt: "99999-01-01" }, /^endsAt: /],
      [{ endsAt: "2001-01-01T00:00:00Z" }, /./],
    ] as const) {
      const refused = await send("POST", "/api/v1/silences", JSON.stringify({ matchers: ['alertname="x"'], ...when }));
      assert.equal(refused.status, 400, `${JSON.stringify(when)}: ${refused.body.error}`);
      assert.match(String(refused.body.error), message);
    }
  });

  test("SLO status over its window", async () => {
    const { body } = await get("/api/v1/slos");
    const [slo] = body as unknown as Array<{ slo: string; total: number; attainment: number; burnRates: Record<string, number> }>;
    assert.deepEqual([slo!.slo, slo!.total, slo!.attainment, slo!.burnRates["1h"]], ["flights-availability", summary.ok, 1, 0]);
  });

  test("every parameter of every GET route, fed hostile values, answers 200 or a 4xx (400, 404, 414) and never 500", async () => {
    const openapi = (await (await fetch(`${api.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { parameters: Array<{ name: string; in: string }> }>> };
    const hostile = ["' OR 1=1 --", "\\'; DROP TABLE predictions; --", "{model:String}", "%00", "\u0000", "-1", "1e309", "NaN", "x".repeat(3000), "../../etc/passwd", "<script>alert(1)</script>", "[]", "{}", "9".repeat(40)];
    let calls = 0;
    for (const [path, methods] of Object.entries(openapi.paths)) {
      const route = methods.get;
      if (!route) continue;
      for (const parameter of route.parameters) {
        for (const value of hostile) {
          const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) => (name === parameter.name ? encodeURIComponent(value) : name === "model" ? "flights" : name === "row" ? "0" : name === "slo" ? "flights-availability" : "x"));
          const query = parameter.in === "query" ? `?${parameter.name}=${encodeURIComponent(value)}` : "";
          const { status } = await get(`${concrete}${query}`);
          calls++;
          assert.ok([200, 400, 404, 414].includes(status), `${concrete.slice(0, 120)}${query.slice(0, 80)} answered ${status}`);
        }
      }
    }
    assert.ok(calls > 500, `${calls} hostile calls`);
    assert.equal((await get("/api/v1/health", null)).status, 200, "still serving");
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
      const { status, body } = await get(path);
      assert.equal(status, 400, path);
      assert.match(body.error!, message);
    }
    for (const hostile of ["flights' OR 1=1 --", "flights\\'; DROP TABLE predictions; --", "{model:String}"]) {
      const { status, body } = await get(`/api/v1/predictions?${range()}&model=${encodeURIComponent(hostile)}`);
      assert.deepEqual([status, (body.rows as unknown[]).length], [200, 0], hostile);
    }
    const big = await send("POST", "/api/v1/silences", JSON.stringify({ matchers: ["a=\"b\""], comment: "x".repeat(100_000), duration: "1h" }));
    assert.equal(big.status, 413);
    const malformed = await send("POST", "/api/v1/silences", "{not json");
    assert.equal(malformed.status, 400);
    const route = await get("/api/v1/nothing");
    assert.match(route.body.error!, /no route GET \/api\/v1\/nothing; the routes are listed at \/api\/openapi.json/);
    assert.equal((await get(`/api/v1/predictions?${range()}&model=flights&limit=1`)).status, 200, "still serving");
  });
});

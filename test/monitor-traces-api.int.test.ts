import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { errorSchema, predictionDetailSchema, predictionPageSchema, type startMonitorApi, traceSchema, tracesSchema } from "@vigil/monitor";
import { type DemoTraffic, demoTraffic } from "./support/demo-traffic.js";
import { refusedRequests } from "./support/refused-requests.js";

const TOKEN = "traces-api-test-token";
/** RFC 3339 in UTC, as every time of these routes is written. */
const RFC3339_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const REFUSED = 6;

interface Parser<T> {
  parse(value: unknown): T;
}

/**
 * The trace and prediction routes over real traffic: the demo model's labelled requests plus a
 * few it refuses, recorded in the embedded store with their traces, read over HTTP.
 */
describe("monitor API: traces and predictions", () => {
  let traffic: DemoTraffic;
  let api: Awaited<ReturnType<typeof startMonitorApi>>;
  let range: string;
  let refusedIds: string[];

  const call = async (path: string) => {
    const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  const ok = async <T>(schema: Parser<T>, path: string): Promise<T> => {
    const { status, body } = await call(path);
    assert.equal(status, 200, `${path}: ${JSON.stringify(body)}`);
    return schema.parse(body);
  };
  const failure = async (path: string) => {
    const { status, body } = await call(path);
    return { status, error: errorSchema.parse(body).error };
  };

  before(async () => {
    traffic = await demoTraffic(80);
    refusedIds = await refusedRequests(traffic, REFUSED);
    range = `from=${encodeURIComponent(new Date(traffic.startedMs - 60_000).toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`;
    api = await traffic.startApi(TOKEN);
  });

  after(async () => {
    await api?.close();
    await traffic?.close();
  });

  test("a status outside the enumeration is a 400 that lists the allowed values; any case is accepted", async () => {
    for (const path of [`/api/v1/traces?${range}&status=weird`, `/api/v1/predictions?${range}&status=BOGUS`]) {
      const { status, error } = await failure(path);
      assert.equal(status, 400, path);
      assert.match(error, /query\.status: .* is not a status; use one of OK, CANCELLED, .*INVALID_ARGUMENT.*, ERROR/, path);
    }
    const openapi = (await (await fetch(`${api.url}/api/openapi.json`)).json()) as {
      paths: Record<string, { get: { parameters: Array<{ name: string; schema: { enum?: string[] } }> } }>;
    };
    const parameter = (path: string, name: string) => openapi.paths[path]!.get.parameters.find((p) => p.name === name)!.schema.enum;
    assert.ok(parameter("/api/v1/traces", "status")?.includes("ERROR"), "the OpenAPI document lists the statuses");
    assert.deepEqual(parameter("/api/v1/predictions", "status"), parameter("/api/v1/traces", "status"));
    assert.deepEqual(parameter("/api/v1/traces", "sort"), ["newest", "slowest"]);
    const sort = await failure(`/api/v1/traces?${range}&sort=fastest`);
    assert.equal(sort.status, 400);
    assert.match(sort.error, /query\.sort/);
    const wrong = await failure(`/api/v1/predictions?${range}&wrong=maybe`);
    assert.equal(wrong.status, 400);

    const lower = await ok(predictionPageSchema, `/api/v1/predictions?${range}&status=ok&limit=500`);
    const upper = await ok(predictionPageSchema, `/api/v1/predictions?${range}&status=OK&limit=500`);
    assert.equal(lower.rows.length, traffic.summary.ok);
    assert.deepEqual(lower, upper, '"ok" is OK');
    const failed = await ok(predictionPageSchema, `/api/v1/predictions?${range}&status=error&limit=500`);
    assert.deepEqual(failed.rows.map((r) => r.requestId).sort(), [...refusedIds].sort(), "error is every status but OK");
    assert.ok(failed.rows.every((r) => r.status === "INVALID_ARGUMENT"));
    const named = await ok(predictionPageSchema, `/api/v1/predictions?${range}&status=invalid_argument&limit=500`);
    assert.equal(named.rows.length, REFUSED);
  });

  test("traces filter by status and minimum duration, newest or slowest first, with RFC 3339 times and durations in ms", async () => {
    const all = await ok(tracesSchema, `/api/v1/traces?${range}&model=flights&limit=1000`);
    assert.equal(all.length, traffic.summary.ok + REFUSED, "one trace per call");
    const starts = all.map((t) => Date.parse(t.start));
    assert.ok(
      all.every((t) => RFC3339_UTC.test(t.start)),
      "starts are RFC 3339 with Z",
    );
    assert.ok(
      starts.every((s, i) => i === 0 || s <= starts[i - 1]!),
      "newest first by default",
    );
    assert.ok(
      starts.every((s) => s >= traffic.startedMs - 1000 && s <= Date.now()),
      "starts lie in the traffic's time",
    );
    assert.ok(all.every((t) => Number.isFinite(t.durationMs) && t.durationMs >= 0 && t.spans >= 1));

    const failed = await ok(tracesSchema, `/api/v1/traces?${range}&model=flights&status=error&limit=1000`);
    assert.deepEqual(failed.map((t) => t.requestId).sort(), [...refusedIds].sort());
    assert.ok(failed.every((t) => t.status === "INVALID_ARGUMENT"));
    const succeeded = await ok(tracesSchema, `/api/v1/traces?${range}&model=flights&status=ok&limit=1000`);
    assert.equal(succeeded.length, traffic.summary.ok);
    assert.ok(succeeded.every((t) => t.status === "OK"));

    const slowest = await ok(tracesSchema, `/api/v1/traces?${range}&model=flights&sort=slowest&limit=20`);
    const durations = all.map((t) => t.durationMs).sort((a, b) => b - a);
    assert.deepEqual(
      slowest.map((t) => t.durationMs),
      durations.slice(0, 20),
      "the 20 slowest, slowest first",
    );
    const threshold = durations[9]!;
    const atLeast = await ok(tracesSchema, `/api/v1/traces?${range}&model=flights&minDurationMs=${threshold}&sort=slowest&limit=1000`);
    assert.deepEqual(
      atLeast.map((t) => t.traceId).sort(),
      all
        .filter((t) => t.durationMs >= threshold)
        .map((t) => t.traceId)
        .sort(),
      "exactly the traces at least that long",
    );
  });

  test("a trace has its spans timed in ms from its start, and the prediction rows it logged", async () => {
    const [listed] = await ok(tracesSchema, `/api/v1/traces?${range}&model=flights&status=ok&limit=1`);
    const trace = await ok(traceSchema, `/api/v1/traces/${listed!.traceId}`);
    assert.equal(trace.start, listed!.start);
    assert.match(trace.start, RFC3339_UTC);
    const root = trace.spans[0]!;
    assert.equal(root.name, "inference.GRPCInferenceService/ModelInfer");
    assert.equal(root.startOffsetMs, 0);
    assert.equal(root.durationMs, listed!.durationMs);
    assert.ok(trace.durationMs >= root.durationMs);
    for (const child of root.children) {
      assert.match(child.start, RFC3339_UTC);
      assert.ok(child.startOffsetMs >= 0 && child.startOffsetMs + child.durationMs <= trace.durationMs + 1e-6, `${child.name} lies inside the trace`);
      assert.ok(Array.isArray(child.events));
    }
    assert.deepEqual(
      trace.predictions.map((p) => [p.requestId, p.rowIndex, p.model, p.status]),
      [[listed!.requestId, 0, "flights", "OK"]],
    );
    const row = await ok(predictionDetailSchema, `/api/v1/predictions/${encodeURIComponent(listed!.requestId)}/0`);
    assert.equal(row.traceId, trace.traceId, "and the row names the trace back");
  });

  test("unknown trace ids and predictions are 404s, a malformed trace id a 400", async () => {
    const unknown = await failure(`/api/v1/traces/${"0".repeat(32)}`);
    assert.deepEqual([unknown.status, unknown.error], [404, `no trace ${"0".repeat(32)} (traces are kept for the configured retention)`]);
    const malformed = await failure("/api/v1/traces/not-a-trace");
    assert.equal(malformed.status, 400);
    assert.match(malformed.error, /a trace id is 32 lowercase hex digits/);
    assert.equal((await failure("/api/v1/predictions/no-such-request/0")).status, 404);
  });

  test("wrong predictions: labelled rows whose prediction differs from the label; the rest of the labelled rows match it", async () => {
    const labelled = await ok(predictionPageSchema, `/api/v1/predictions?${range}&hasLabel=true&limit=500`);
    const wrong = await ok(predictionPageSchema, `/api/v1/predictions?${range}&wrong=true&limit=500`);
    const right = await ok(predictionPageSchema, `/api/v1/predictions?${range}&wrong=false&limit=500`);
    assert.ok(labelled.rows.length > 0);
    assert.ok(wrong.rows.every((r) => r.label !== null && r.label !== r.prediction));
    assert.ok(right.rows.every((r) => r.label !== null && r.label === r.prediction));
    assert.deepEqual(
      [...wrong.rows, ...right.rows].map((r) => r.requestId).sort(),
      labelled.rows.map((r) => r.requestId).sort(),
      "together they are the labelled rows",
    );
    assert.deepEqual(
      wrong.rows.map((r) => r.requestId),
      labelled.rows.filter((r) => r.label !== r.prediction).map((r) => r.requestId),
    );
  });

  test("prediction times are RFC 3339 to the microsecond, and categorical inputs carry their category names", async () => {
    const page = await ok(predictionPageSchema, `/api/v1/predictions?${range}&status=ok&hasLabel=true&limit=5`);
    for (const r of page.rows) assert.match(r.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const detail = await ok(predictionDetailSchema, `/api/v1/predictions/${encodeURIComponent(page.rows[0]!.requestId)}/0`);
    assert.match(detail.labelledAt!, RFC3339_UTC);
    const config = (await traffic.lookup("flights", detail.version))!;
    assert.deepEqual(
      detail.inputs.map((i) => i.value),
      detail.features,
    );
    for (const input of detail.inputs) {
      const spec = config.features.find((f) => f.name === input.name)!;
      assert.equal(input.category, spec.kind === "categorical" ? spec.categories![input.value]! : null, input.name);
    }
    assert.equal(detail.inputs.find((i) => i.name === "weekday")!.category?.length, 3, "weekday by name (mon, tue, ...)");
  });
});

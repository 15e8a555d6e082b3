import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { confusionSchema, errorSchema, histogramsSchema, modelResultsSchema, modelsSchema, type startMonitorApi } from "@vigil/monitor";
import { type DriftTraffic, driftTraffic } from "./support/drift-traffic.js";

const TOKEN = "models-api-token";

interface Schema<T> {
  parse(value: unknown): T;
}

/**
 * The API's view of the model repository over real traffic: the models it holds, their serving
 * version, and 404s for models and versions seen only in refused requests.
 */
describe("monitor API: models from the repository", () => {
  let traffic: DriftTraffic;
  let api: Awaited<ReturnType<typeof startMonitorApi>>;
  let range: string;

  /** The status and the body parsed through the schema the status promises: the route's on 200, the error schema otherwise. */
  const get = async <T>(schema: Schema<T>, path: string) => {
    const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const raw: unknown = await response.json();
    return response.status === 200
      ? { status: 200, body: schema.parse(raw), error: undefined }
      : { status: response.status, body: undefined, error: errorSchema.parse(raw).error };
  };

  before(async () => {
    traffic = await driftTraffic(100);
    api = await traffic.startApi(TOKEN);
    range = `from=${encodeURIComponent(new Date(traffic.windows[0]!.fromMs).toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`;
  });

  after(async () => {
    await api?.close();
    await traffic?.close();
  });

  test("GET /api/v1/models lists the repository's models only, with their versions, serving version, classes and inputs", async () => {
    const { status, body } = await get(modelsSchema, "/api/v1/models");
    assert.equal(status, 200);
    assert.deepEqual(
      body!.models.map((m) => m.name),
      ["flights"],
      "a model seen only in refused requests is not listed",
    );
    const flights = body!.models[0]!;
    assert.deepEqual(
      flights.versions.map((v) => [v.version, v.reference]),
      [["1", true]],
      "version 9, named only by a refused request, is not a version",
    );
    assert.equal(flights.servingVersion, "1");
    assert.ok(flights.versions[0]!.lastServedAt!.endsWith("Z"));
    assert.ok(Date.parse(flights.versions[0]!.lastServedAt!) <= traffic.windows[1]!.toMs);
    assert.equal(flights.classifier, true);
    assert.deepEqual(flights.classes, ["on_time", "delayed"]);
    assert.deepEqual(
      flights.inputs.map((i) => `${i.name}:${i.kind}`),
      [
        "hour:categorical",
        "weekday:categorical",
        "distance:numerical",
        "origin:categorical",
        "destination:categorical",
        "prediction:categorical",
        "confidence:numerical",
      ],
    );
  });

  test("every route under /api/v1/models/{model} answers 404 naming the model for one the repository does not hold", async () => {
    const routes = ["quality", "drift", "data-quality", "estimated", "confusion", "report", "histograms", `explain?baselineFrom=-2h&baselineTo=-1h&${range}`];
    for (const route of routes) {
      const path = `/api/v1/models/nope/${route}${route.includes("?") ? "" : `?${range}`}`;
      const { status, error } = await get(modelResultsSchema, path);
      assert.equal(status, 404, `${path}: ${error}`);
      assert.equal(error, 'model "nope" is not known to the monitor (it has no config.json in the model repository)', path);
    }
  });

  test("a version the repository does not hold answers 404 naming the versions it does", async () => {
    for (const route of ["drift", "quality", "confusion", "histograms"]) {
      const { status, error } = await get(modelResultsSchema, `/api/v1/models/flights/${route}?${range}&version=9`);
      assert.deepEqual([status, error], [404, 'model flights has no version "9" in the model repository (versions: 1)'], route);
    }
  });

  test("/histograms without version answers for the serving version, the same counts as naming it", async () => {
    const implicit = await get(histogramsSchema, `/api/v1/models/flights/histograms?${range}`);
    assert.equal(implicit.status, 200, implicit.error);
    const explicit = await get(histogramsSchema, `/api/v1/models/flights/histograms?${range}&version=1`);
    assert.equal(implicit.body!.version, "1");
    assert.deepEqual(implicit.body, explicit.body);
    const distance = implicit.body!.inputs.find((h) => h.feature === "distance")!;
    assert.equal(
      distance.current.reduce((a, b) => a + b, 0),
      traffic.summary.ok + traffic.drifted.ok,
      "every successful row of the range",
    );
  });

  test("histograms of one monitor window count that window's rows only", async () => {
    const [calm] = traffic.windows;
    const window = `from=${new Date(calm!.fromMs).toISOString()}&to=${new Date(calm!.toMs).toISOString()}`;
    const { body } = await get(histogramsSchema, `/api/v1/models/flights/histograms?${window}&feature=distance`);
    assert.deepEqual(body!.window, { from: new Date(calm!.fromMs).toISOString(), to: new Date(calm!.toMs).toISOString() });
    assert.equal(
      body!.inputs[0]!.current.reduce((a, b) => a + b, 0),
      traffic.summary.ok,
    );
  });

  test("confusion says the range it covers in RFC 3339 with Z", async () => {
    const from = new Date(traffic.windows[0]!.fromMs).toISOString();
    const to = new Date(traffic.windows[1]!.toMs).toISOString();
    const { body } = await get(confusionSchema, `/api/v1/models/flights/confusion?from=${from}&to=${to}`);
    assert.deepEqual(body!.window, { from, to });
  });

  test("an enumeration outside its values is a 400 that names the allowed ones", async () => {
    const { status, error } = await get(modelResultsSchema, `/api/v1/models/flights/report?${range}&kind=bogus`);
    assert.equal(status, 400);
    assert.match(error!, /query\.kind: .*"quality".*"drift".*"data_quality"/);
  });
});

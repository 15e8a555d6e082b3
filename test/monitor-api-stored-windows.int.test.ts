import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type WindowConfusionResponse,
  classificationQuality,
  errorSchema,
  featureDrift,
  histogramsSchema,
  type startMonitorApi,
  storedHistograms,
  windowConfusionSchema,
} from "@vigil/monitor";
import { readMonitorResults } from "@vigil/store";
import { type DriftTraffic, driftTraffic } from "./support/drift-traffic.js";

const TOKEN = "window-confusion-token";
const CLASSES = ["on_time", "delayed"];

/**
 * What the API serves from the monitor's stored windows against the same figures computed now
 * from the rows, over real traffic in two monitor windows: the confusion figures summed over
 * windows, and a window's histograms.
 */
describe("monitor API: figures from stored windows", () => {
  let traffic: DriftTraffic;
  let api: Awaited<ReturnType<typeof startMonitorApi>>;

  const iso = (ms: number) => new Date(ms).toISOString();
  const get = async (path: string) => {
    const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const raw: unknown = await response.json();
    return response.status === 200
      ? { status: 200, body: windowConfusionSchema.parse(raw), error: undefined }
      : { status: response.status, body: undefined, error: errorSchema.parse(raw).error };
  };
  const ok = async (path: string): Promise<WindowConfusionResponse> => {
    const { status, body, error } = await get(path);
    assert.equal(status, 200, `${path}: ${error}`);
    return body!;
  };

  before(async () => {
    traffic = await driftTraffic(120);
    api = await traffic.startApi(TOKEN);
  });

  after(async () => {
    await api?.close();
    await traffic?.close();
  });

  test("over a range whose bounds are window bounds, the sum of the windows equals the figures computed now from the rows", async () => {
    const [calm, late] = traffic.windows as [{ fromMs: number; toMs: number }, { fromMs: number; toMs: number }];
    const summed = await ok(`/api/v1/models/flights/confusion/windows?from=${iso(calm.fromMs)}&to=${iso(late.toMs)}&version=1`);
    const direct = await classificationQuality(traffic.store.engine, {
      model: "flights",
      version: "1",
      classes: CLASSES,
      window: { fromUs: calm.fromMs * 1000, toUs: late.toMs * 1000 },
    });
    assert.equal(summed.windows, 2);
    assert.deepEqual(summed.window, { from: iso(calm.fromMs), to: iso(late.toMs) });
    assert.equal(summed.rows, traffic.summary.labelsSent + traffic.drifted.labelsSent);
    assert.equal(summed.rows, direct.rows);
    assert.deepEqual(summed.confusion, direct.confusion);
    const close = (a: number | null, b: number | null, what: string) => {
      assert.ok(a !== null && b !== null && Math.abs(a - b) <= 1e-12, `${what}: ${a} against ${b}`);
    };
    summed.perClass.forEach((c, i) => {
      const d = direct.perClass[i]!;
      assert.deepEqual([c.class, c.support], [d.class, d.support]);
      close(c.precision, d.precision, `${c.class} precision`);
      close(c.recall, d.recall, `${c.class} recall`);
      close(c.f1, d.f1, `${c.class} F1`);
    });
    for (const average of ["macro", "micro", "weighted"] as const) {
      for (const figure of ["precision", "recall", "f1"] as const) close(summed[average][figure], direct[average][figure], `${average} ${figure}`);
    }
    close(summed.accuracy, direct.accuracy, "accuracy");
    close(summed.logLoss, direct.logLoss, "log loss");
    close(summed.brier, direct.brier, "Brier score");
    close(summed.expectedCalibrationError, direct.expectedCalibrationError, "expected calibration error");
    assert.deepEqual(
      summed.calibration.map((b) => [b.lower, b.upper, b.rows]),
      direct.calibration.map((b) => [b.lower, b.upper, b.rows]),
    );
    summed.calibration.forEach((b, i) => {
      close(b.meanConfidence, direct.calibration[i]!.meanConfidence, `bin ${b.lower} mean confidence`);
      close(b.accuracy, direct.calibration[i]!.accuracy, `bin ${b.lower} accuracy`);
    });
    assert.ok(summed.rocAucWindowMean !== null && summed.rocAucWindowMean >= 0 && summed.rocAucWindowMean <= 1);
  });

  test("a range that ends inside a window is widened to the windows that end in it, and says so", async () => {
    const [calm, late] = traffic.windows as [{ fromMs: number; toMs: number }, { fromMs: number; toMs: number }];
    const summed = await ok(`/api/v1/models/flights/confusion/windows?from=${iso(calm.fromMs + 1000)}&to=${iso(calm.toMs + 1)}&version=1`);
    assert.equal(summed.windows, 1);
    assert.deepEqual(summed.window, { from: iso(calm.fromMs), to: iso(calm.toMs) });
    assert.equal(summed.rows, traffic.summary.labelsSent);
    const none = await ok(`/api/v1/models/flights/confusion/windows?from=${iso(late.toMs + 1)}&to=${iso(late.toMs + 60_000)}&version=1`);
    assert.deepEqual([none.window, none.windows, none.rows, none.accuracy, none.calibration], [null, 0, 0, null, []]);
  });

  test("an unknown model or version is a 404 that names what is known", async () => {
    const range = `from=${iso(traffic.windows[0]!.fromMs)}&to=${iso(Date.now())}`;
    const model = await get(`/api/v1/models/nope/confusion/windows?${range}`);
    assert.equal(model.status, 404);
    assert.match(model.error!, /nope/);
    const version = await get(`/api/v1/models/flights/confusion/windows?${range}&version=9`);
    assert.equal(version.status, 404);
    assert.match(version.error!, /versions: 1/);
  });

  test("a window's histograms come from the counts stored with its drift decisions, equal to the counts from its rows", async () => {
    const late = traffic.windows[1]!;
    const window = { fromUs: late.fromMs * 1000, toUs: late.toMs * 1000 };
    const served = await fetch(`${api.url}/api/v1/models/flights/histograms?from=${iso(late.fromMs)}&to=${iso(late.toMs)}&version=1`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const { inputs } = histogramsSchema.parse(await served.json());
    const model = (await traffic.lookup("flights", "1"))!;
    const fromRows = await featureDrift(traffic.store.engine, { model: "flights", version: "1", window, features: model.features, profiles: model.profiles });
    assert.deepEqual(
      inputs.map((h) => [h.feature, h.reference, h.current, h.psi, h.jensenShannon]),
      fromRows.map((d) => [d.feature, d.referenceCounts, d.currentCounts, d.psi, d.jensenShannon]),
    );
    const profiles = model.features.map((f) => model.profiles.find((p) => p.feature === f.name)!);
    const stored = await readMonitorResults(traffic.store.engine, { kind: "drift", model: "flights", version: "1", fromMs: late.fromMs, toMs: late.toMs });
    assert.deepEqual(
      storedHistograms(stored, window, profiles)?.map((h) => h.currentCounts),
      fromRows.map((d) => d.currentCounts),
      "the stored counts are the rows' counts",
    );
    const rebuilt = profiles.map((p) => (p.kind === "categorical" ? { ...p, counts: p.counts.map((c) => c + 1) } : p));
    assert.equal(storedHistograms(stored, window, rebuilt), undefined, "counts stored against another profile are not used");
    assert.equal(storedHistograms(stored, { ...window, fromUs: window.fromUs + 1 }, profiles), undefined, "only a stored window's exact span");
  });
});

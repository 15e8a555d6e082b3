import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type WindowConfusionResponse, classificationQuality, errorSchema, type startMonitorApi, windowConfusionSchema } from "@vigil/monitor";
import { type DriftTraffic, driftTraffic } from "./support/drift-traffic.js";

const TOKEN = "window-confusion-token";
const CLASSES = ["on_time", "delayed"];

/**
 * The confusion figures summed from the monitor's stored windows against the same figures
 * computed now from the rows, over real traffic in two monitor windows.
 */
describe("monitor API: confusion over stored windows", () => {
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
});

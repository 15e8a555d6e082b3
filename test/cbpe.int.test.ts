import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import {
  type FlightDelayWeights,
  type FlightRecord,
  buildVocabulary,
  createFlightEncoder,
  demoModelConfig,
  isDelayed,
  loadFlights,
  seededRandom,
  shuffled,
  splitByMonth,
  trainFlightDelayModel,
} from "@vigil/demo-model";
import {
  type MonitoredModel,
  type PerformanceEstimate,
  type ReferenceCalibration,
  SAMPLING_ERROR_RANGE,
  calibrateFromWindow,
  catalogSource,
  ensureCalibration,
  estimatePerformance,
  evaluateWindow,
  fitCalibration,
  identityCalibration,
  loadCalibration,
  loadMonitorConfig,
  modelResultsSchema,
  readCatalog,
  sampleMetric,
  startMonitorApi,
} from "@vigil/monitor";
import { type Store, readMonitorResults, saveMonitorResults } from "@vigil/store";
import { openTestStore } from "./support/recording.js";
import { FIXTURE_START_US, predictionRecord, tempDir } from "./support/store.js";

const TOLERANCE = 1e-9;
/** The 95% band: ±1.96 standard errors of a normal sampling distribution. */
const Z_95 = 1.959963984540054;

interface Row {
  scores: number[];
  prediction: number;
  /** Class index; undefined for an unlabelled row. */
  label?: number;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

const argmax = (v: number[]) => v.indexOf(Math.max(...v));

/**
 * Binary rows whose labels are drawn from known probabilities π, scored by a model that is
 * overconfident and biased (logit 1.8·z + 0.3 where π has logit z): calibration has work to do.
 * `mean` moves the population (covariate shift); `flip` draws labels from 1 − π where it holds
 * (concept drift: the scores stay, the truth changes).
 */
function binaryRows(random: () => number, n: number, mean: number, flip: (pi: number) => boolean = () => false): Row[] {
  return Array.from({ length: n }, () => {
    const z = mean + 1.5 * gaussian(random);
    const pi = sigmoid(z);
    const positive = Math.fround(sigmoid(1.8 * z + 0.3));
    const scores = [Math.fround(1 - positive), positive];
    const truth = flip(pi) ? 1 - pi : pi;
    return { scores, prediction: argmax(scores), label: random() < truth ? 1 : 0 };
  });
}

/** Three classes: true probabilities softmax(z), scores softmax(1.6·z + bias), labels drawn from the truth; `shift` moves the classes' logits. */
function multiclassRows(random: () => number, n: number, shift: number[]): Row[] {
  const softmax = (v: number[]) => {
    const e = v.map(Math.exp);
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / sum);
  };
  return Array.from({ length: n }, () => {
    const z = shift.map((m) => m + gaussian(random));
    const truth = softmax(z);
    const scores = softmax(z.map((v, c) => 1.6 * v + [0.2, 0, -0.2][c]!)).map(Math.fround);
    const u = random();
    const label = u < truth[0]! ? 0 : u < truth[0]! + truth[1]! ? 1 : 2;
    return { scores, prediction: argmax(scores), label };
  });
}

/** The demo model's P(delayed), computed from its weights as its ONNX graph does, rounded to Float32 as served. */
function flightScorer(weights: FlightDelayWeights, encode: (r: FlightRecord) => number[]) {
  return (record: FlightRecord): number[] => {
    const [hour, weekday, distance, origin, destination] = encode(record) as [number, number, number, number, number];
    const d = Math.max(0, distance);
    const logit =
      weights.bias +
      (weights.distance * (d - weights.distanceMean)) / weights.distanceStd +
      (weights.logDistance * (Math.log1p(d) - weights.logDistanceMean)) / weights.logDistanceStd +
      weights.hour[hour]! +
      weights.weekday[weekday]! +
      weights.origin[origin]! +
      weights.destination[destination]!;
    const delayed = Math.fround(sigmoid(logit));
    return [Math.fround(1 - delayed), delayed];
  };
}

const sampleOf = (classes: string[], rows: Row[]) => ({
  classes,
  labels: rows.map((r) => r.label!),
  predictions: rows.map((r) => r.prediction),
  scores: rows.map((r) => r.scores),
});

async function python(input: unknown): Promise<PythonEstimate> {
  const child = promisify(execFile)("/usr/bin/python3", [join(import.meta.dirname, "python", "cbpe_reference.py")], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  child.child.stdin!.end(JSON.stringify(input));
  return JSON.parse((await child).stdout) as PythonEstimate;
}

type Figures = { precision: number; recall: number; f1: number };
interface PythonEstimate {
  calibrators?: Array<{ calibrated: boolean; thresholds: number[]; values: number[]; ece_raw: number | null; ece_calibrated: number | null }>;
  estimate: {
    rows: number;
    accuracy: number;
    per_class: Array<Figures & { roc_auc: number | null }>;
    macro: Figures;
    roc_auc: number | null;
    confusion: number[][];
    sampling_error?: {
      accuracy: number;
      per_class: Array<Record<"precision" | "recall" | "f1" | "roc_auc", number | null>>;
      macro: Record<"precision" | "recall" | "f1", number | null>;
      roc_auc: number | null;
    };
  };
}

function close(actual: number | null | undefined, expected: number | null | undefined, what: string, tolerance = TOLERANCE): void {
  if (expected === null || expected === undefined) {
    assert.ok(actual === null || actual === undefined, `${what}: undefined in the reference, vigil ${actual}`);
    return;
  }
  assert.ok(typeof actual === "number" && Math.abs(actual - expected) <= tolerance, `${what}: vigil ${actual} vs reference ${expected}`);
}

/** Two fits of the same rows, up to the order floating-point sums ran in. */
function assertSameCalibration(actual: unknown, expected: unknown, what: string): void {
  if (typeof expected === "number") {
    assert.ok(
      typeof actual === "number" && (Object.is(actual, expected) || Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected))),
      `${what}: ${actual} vs ${expected}`,
    );
  } else if (expected !== null && typeof expected === "object") {
    assert.equal(typeof actual, "object", what);
    const keys = Object.keys(expected);
    assert.deepEqual(Object.keys(actual as object), keys, `${what}: the same fields`);
    for (const key of keys) assertSameCalibration((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${what}.${key}`);
  } else {
    assert.equal(actual, expected, what);
  }
}

/** Every estimated figure and its standard error against the Python reference. */
function assertMatches(vigil: PerformanceEstimate, reference: PythonEstimate["estimate"]): void {
  assert.equal(vigil.rows, reference.rows, "rows");
  close(vigil.accuracy.value, reference.accuracy, "accuracy");
  for (const [t, row] of reference.confusion.entries()) for (const [p, cell] of row.entries()) close(vigil.confusion[t]![p], cell, `confusion[${t}][${p}]`);
  for (const [c, expected] of reference.per_class.entries()) {
    const actual = vigil.perClass[c]!;
    for (const key of ["precision", "recall", "f1"] as const) close(actual[key].value, expected[key], `${actual.class} ${key}`);
    close(actual.rocAuc?.value ?? null, expected.roc_auc, `${actual.class} ROC AUC`);
  }
  for (const key of ["precision", "recall", "f1"] as const) close(vigil.macro[key].value, reference.macro[key], `macro ${key}`);
  close(vigil.rocAuc?.value ?? null, reference.roc_auc, "ROC AUC");
  const se = reference.sampling_error;
  if (!se) return;
  close(vigil.accuracy.samplingError, se.accuracy, "accuracy SE");
  for (const [c, expected] of se.per_class.entries()) {
    const actual = vigil.perClass[c]!;
    for (const key of ["precision", "recall", "f1"] as const) close(actual[key].samplingError, expected[key], `${actual.class} ${key} SE`);
    close(actual.rocAuc?.samplingError ?? null, expected.roc_auc, `${actual.class} ROC AUC SE`);
  }
  for (const key of ["precision", "recall", "f1"] as const) close(vigil.macro[key].samplingError, se.macro[key], `macro ${key} SE`);
  close(vigil.rocAuc?.samplingError ?? null, se.roc_auc, "ROC AUC SE");
}

const BINARY = ["no", "yes"];
const THREE = ["a", "b", "c"];
const WINDOW_US = 60e6;

describe("confidence-based performance estimation (CBPE) in ClickHouse SQL", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  /** Next free window start per model; every window is a minute of its own. */
  let nextWindow = 0;
  let requests = 0;

  /** Logs rows as one window of a model's traffic (with their labels, when they have one) and returns the window. */
  async function record(model: string, classes: string[], rows: Row[]): Promise<{ fromUs: number; toUs: number }> {
    const fromUs = FIXTURE_START_US - 7 * 24 * 3600e6 + nextWindow++ * WINDOW_US;
    for (const [i, row] of rows.entries()) {
      const requestId = `cbpe-${requests++}`;
      const timestampUs = fromUs + Math.floor((i * WINDOW_US) / rows.length);
      await store.predictions.append(
        predictionRecord(i, {
          modelName: model,
          requestId,
          timestampUs,
          status: "OK",
          prediction: classes[row.prediction]!,
          scores: row.scores,
          confidence: Math.max(...row.scores),
        }),
      );
      if (row.label !== undefined) {
        await store.labels.append({ requestId, rowIndex: 0, modelName: model, label: classes[row.label]!, timestampUs: timestampUs + 1000, source: "test" });
      }
    }
    return { fromUs, toUs: fromUs + WINDOW_US };
  }

  async function flush(): Promise<void> {
    await store.predictions.flush();
    await store.labels.flush();
  }

  const monitored = (name: string, classes: string[], calibration: ReferenceCalibration): MonitoredModel => ({
    name,
    version: "1",
    classes,
    features: [],
    profiles: [],
    calibration,
  });

  before(async () => {
    dirs = await tempDir("vigil-cbpe-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") }, { maxBatchRows: 5000 });
    await store.ready();
  });
  after(async () => {
    await store.close();
    await dirs.remove();
  });

  test("the spec's worked check: p = [0.9, 0.6, 0.2, 0.4], predictions [1, 1, 0, 0], no calibration", async () => {
    const rows: Row[] = [0.9, 0.6, 0.2, 0.4].map((p, i) => ({ scores: [Math.fround(1 - p), Math.fround(p)], prediction: i < 2 ? 1 : 0 }));
    const window = await record("cbpe-worked", BINARY, rows);
    await flush();
    const vigil = await estimatePerformance(store.engine, { model: "cbpe-worked", window, calibration: identityCalibration(BINARY) });
    const positive = vigil.perClass[1]!;
    // The spec's figures to their 6 decimals (the scores are logged as Float32, 0.9 as 0.899999976).
    close(vigil.accuracy.value, 0.725, "accuracy", 5e-7);
    close(positive.precision.value, 0.75, "precision", 5e-7);
    close(positive.recall.value, 0.714286, "recall", 5e-7);
    close(positive.f1.value, 0.731707, "F1", 5e-7);
    close(vigil.rocAuc!.value, 0.788221, "ROC AUC", 5e-7);
    close(vigil.confusion[1]![1], 1.5, "TP", 1e-6);
    close(vigil.confusion[0]![1], 0.5, "FP", 1e-6);
    const reference = await python({
      classes: BINARY,
      reference: null,
      analysis: { predictions: rows.map((r) => r.prediction), scores: rows.map((r) => r.scores) },
    });
    assertMatches(vigil, reference.estimate);
  });

  for (const [name, classes, rowsOf] of [
    ["binary", BINARY, (r: () => number, n: number) => binaryRows(r, n, 0.3)],
    ["three-class", THREE, (r: () => number, n: number) => multiclassRows(r, n, [0.3, 0, -0.2])],
  ] as const) {
    test(`${name}: calibrators, estimates and standard errors within ${TOLERANCE} of numpy and scikit-learn`, async () => {
      const random = seededRandom(name.length * 7919);
      const reference = rowsOf(random, 3000);
      const analysis = rowsOf(random, 2000).map((r, i) => (i % 3 === 0 ? { ...r, label: undefined } : r));
      const model = `cbpe-exact-${name}`;
      const referenceWindow = await record(model, classes, reference);
      const window = await record(model, classes, analysis);
      await flush();
      // Fitted from the labelled traffic of the reference window, as `calibrateFromWindow` does.
      const calibration = await calibrateFromWindow(store.engine, { model, version: "1", classes: [...classes], window: referenceWindow });
      assert.deepEqual(await loadCalibration(store.engine, model, "1"), calibration, "stored and read back unchanged");
      assertSameCalibration(fitCalibration(sampleOf([...classes], reference)), calibration, "the same fit from the rows in memory, in another order");
      assert.ok(
        calibration.calibrators.some((c) => c.calibrated),
        "the miscalibrated scores get a calibrator",
      );
      const [vigil, expected] = await Promise.all([
        estimatePerformance(store.engine, { model, window, calibration }),
        python({
          classes,
          reference: sampleOf([...classes], reference),
          analysis: { predictions: analysis.map((r) => r.prediction), scores: analysis.map((r) => r.scores) },
        }),
      ]);
      for (const [i, c] of expected.calibrators!.entries()) {
        const actual = calibration.calibrators[i]!;
        assert.equal(actual.calibrated, c.calibrated, `calibrator ${i}: the same decision`);
        close(actual.eceRaw, c.ece_raw, `calibrator ${i} ECE raw`);
        close(actual.eceCalibrated, c.ece_calibrated, `calibrator ${i} ECE calibrated`);
        assert.equal(actual.thresholds.length, c.thresholds.length, `calibrator ${i}: as many thresholds as scikit-learn keeps`);
        for (const [j, x] of c.thresholds.entries()) close(actual.thresholds[j], x, `calibrator ${i} threshold ${j}`);
        for (const [j, y] of c.values.entries()) close(actual.values[j], y, `calibrator ${i} value ${j}`);
      }
      assertMatches(vigil, expected.estimate);
    });
  }

  test("a reference.jsonl with labels and scores is a labelled reference; one without gives no estimate", async () => {
    const rows = binaryRows(seededRandom(5), 400, 0);
    const labelled = join(dirs.path, "labelled.jsonl");
    await writeFile(
      labelled,
      rows.map((r) => JSON.stringify({ features: [1], prediction: BINARY[r.prediction], scores: r.scores, label: BINARY[r.label!] })).join("\n"),
    );
    const unlabelled = join(dirs.path, "unlabelled.jsonl");
    await writeFile(
      unlabelled,
      rows.map((r) => JSON.stringify({ features: [1], prediction: BINARY[r.prediction], confidence: Math.max(...r.scores) })).join("\n"),
    );
    assert.equal(await ensureCalibration(store.engine, { name: "cbpe-file", version: "2", classes: BINARY, referenceFile: unlabelled }), undefined);
    const fitted = await ensureCalibration(store.engine, { name: "cbpe-file", version: "1", classes: BINARY, referenceFile: labelled });
    assertSameCalibration(fitted!, fitCalibration(sampleOf(BINARY, rows)), "fitted on the file's labelled rows");
    assert.deepEqual(await loadCalibration(store.engine, "cbpe-file", "1"), fitted, "saved with the version");
    const wrong = join(dirs.path, "wrong.jsonl");
    await writeFile(wrong, JSON.stringify({ features: [1], prediction: "no", scores: [0.5, 0.5], label: "maybe" }));
    await assert.rejects(
      ensureCalibration(store.engine, { name: "cbpe-file", version: "3", classes: BINARY, referenceFile: wrong }),
      /label "maybe" is none of/,
    );
  });

  test("the monitor's catalog fits the calibration from a labelled reference.jsonl and every window of the version gets an estimate", async () => {
    const rows = binaryRows(seededRandom(8), 600, 0);
    const root = join(dirs.path, "models");
    const versionDir = join(root, "cbpe-catalog", "1");
    await mkdir(versionDir, { recursive: true });
    const config = { ...demoModelConfig(buildVocabulary([])), name: "cbpe-catalog", classes: BINARY, monitored_features: [] };
    await writeFile(join(root, "cbpe-catalog", "config.json"), JSON.stringify(config));
    await writeFile(
      join(versionDir, "reference.jsonl"),
      rows
        .map((r) =>
          JSON.stringify({ features: [], prediction: BINARY[r.prediction], confidence: Math.max(...r.scores), scores: r.scores, label: BINARY[r.label!] }),
        )
        .join("\n"),
    );
    const window = await record(
      "cbpe-catalog",
      BINARY,
      binaryRows(seededRandom(9), 500, 0.5).map((r) => ({ ...r, label: undefined })),
    );
    await flush();
    const source = catalogSource(
      store.engine,
      () =>
        readCatalog(root, (error) => {
          throw error;
        }),
      loadMonitorConfig(),
    );
    const [watched] = await source(window);
    assert.ok(watched?.calibration, "the version has a calibration");
    assertSameCalibration(watched.calibration, fitCalibration(sampleOf(BINARY, rows)), "fitted on the labelled reference rows");
    const results = await evaluateWindow(store.engine, watched, window);
    const estimated = results.filter((r) => r.kind === "estimated");
    assert.deepEqual(
      estimated.filter((r) => r.feature === "").map((r) => r.metric),
      ["accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc", "confusion_matrix"],
      "estimates without a single label; no error rows until labels arrive",
    );
    assert.equal(estimated[0]!.details.rows, 500);
  });

  /** Per window: whether each figure's realized value lies within z standard errors of its estimate, as the monitor's evaluation stores them. */
  async function coverage(model: MonitoredModel, windows: Array<{ fromUs: number; toUs: number }>, z: number) {
    const covered = new Map<string, number>();
    const counted = new Map<string, number>();
    const errors: number[] = [];
    for (const window of windows) {
      const results = await evaluateWindow(store.engine, model, window);
      for (const r of results.filter((x) => x.kind === "estimated" && x.metric.endsWith("_error") && x.feature === "")) {
        const se = Number(r.details.sampling_error);
        const metric = r.metric.replace(/_error$/, "");
        counted.set(metric, (counted.get(metric) ?? 0) + 1);
        if (Math.abs(r.value) <= z * se) covered.set(metric, (covered.get(metric) ?? 0) + 1);
        if (metric === "accuracy") errors.push(r.value);
      }
    }
    const share = (metric: string) => (covered.get(metric) ?? 0) / (counted.get(metric) ?? Number.NaN);
    return { share, counted, errors };
  }

  test("binary, labels drawn from known probabilities under covariate shift: the 95% band (±1.96 SE) covers the realized figures in at least 90% of 50 windows", async () => {
    const random = seededRandom(2024);
    const model = "cbpe-coverage-binary";
    const referenceWindow = await record(model, BINARY, binaryRows(random, 5000, 0));
    const windows = [];
    for (let w = 0; w < 50; w++) windows.push(await record(model, BINARY, binaryRows(random, 1000, -1 + (2 * w) / 49)));
    await flush();
    const calibration = await calibrateFromWindow(store.engine, { model, version: "1", classes: BINARY, window: referenceWindow });
    const { share, counted, errors } = await coverage(monitored(model, BINARY, calibration), windows, Z_95);
    const report = ["accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc"].map((m) => `${m} ${(100 * share(m)).toFixed(0)}%`);
    console.log(`binary coverage of ±1.96 SE over ${counted.get("accuracy")} windows: ${report.join(", ")}`);
    console.log(`binary mean |estimated − realized accuracy|: ${((100 * errors.reduce((a, e) => a + Math.abs(e), 0)) / errors.length).toFixed(2)} pp`);
    assert.equal(counted.get("accuracy"), 50, "every window has an estimate and a realized figure");
    for (const metric of ["accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc"]) {
      assert.ok(share(metric) >= 0.9, `${metric}: covered in ${(100 * share(metric)).toFixed(0)}% of windows`);
    }
    const wide = await coverage(monitored(model, BINARY, calibration), windows.slice(0, 10), SAMPLING_ERROR_RANGE);
    assert.ok(wide.share("accuracy") >= 0.9, "the stored ±3 SE band is wider still");
  });

  test("three classes, labels drawn from known probabilities under covariate shift: the 95% band covers realized accuracy in at least 90% of 30 windows", async () => {
    const random = seededRandom(77);
    const model = "cbpe-coverage-three";
    const referenceWindow = await record(model, THREE, multiclassRows(random, 5000, [0, 0, 0]));
    const windows = [];
    for (let w = 0; w < 30; w++) windows.push(await record(model, THREE, multiclassRows(random, 1000, [(w % 5) * 0.2, 0, -(w % 3) * 0.3])));
    await flush();
    const calibration = await calibrateFromWindow(store.engine, { model, version: "1", classes: THREE, window: referenceWindow });
    const { share, counted } = await coverage(monitored(model, THREE, calibration), windows, Z_95);
    const report = ["accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc"].map((m) => `${m} ${(100 * share(m)).toFixed(0)}%`);
    console.log(`three-class coverage of ±1.96 SE over ${counted.get("accuracy")} windows: ${report.join(", ")}`);
    assert.ok(share("accuracy") >= 0.9, `accuracy covered in ${(100 * share("accuracy")).toFixed(0)}% of windows`);
  });

  test("demo flights, held-out March under covariate shift: estimated accuracy within 2 percentage points of realized on average over 1,000-row windows", async () => {
    const { train, heldOut } = splitByMonth(loadFlights());
    const vocabulary = buildVocabulary(train);
    const score = flightScorer(trainFlightDelayModel(train, vocabulary), createFlightEncoder(vocabulary));
    const march = shuffled(heldOut, 11).map((f) => {
      const scores = score(f);
      return { flight: f, row: { scores, prediction: scores[1]! > scores[0]! ? 1 : 0, label: isDelayed(f) ? 1 : 0 } };
    });
    // A third of March, drawn at random, is the labelled reference; the rest is traffic whose mix
    // of departure hours moves window by window (covariate shift, the same delays given a flight).
    const reference = march.slice(0, 2400);
    const pool = march.slice(2400);
    const model = "cbpe-flights";
    const classes = ["on_time", "delayed"];
    const referenceWindow = await record(
      model,
      classes,
      reference.map((m) => m.row),
    );
    const random = seededRandom(3);
    const hourOf = (f: FlightRecord) => Number(f.date.slice(11, 13));
    const windows = [];
    for (let w = 0; w < 12; w++) {
      const tilt = -2 + (4 * w) / 11;
      // Weighted sampling without replacement (Efraimidis-Spirakis): evening flights weigh more as the tilt grows.
      const keyed = pool.map((m) => ({ m, key: random() ** (1 / Math.exp((tilt * (hourOf(m.flight) - 13)) / 5)) }));
      keyed.sort((a, b) => b.key - a.key);
      windows.push(
        await record(
          model,
          classes,
          keyed.slice(0, 1000).map((k) => k.m.row),
        ),
      );
    }
    await flush();
    const calibration = await calibrateFromWindow(store.engine, { model, version: "1", classes, window: referenceWindow });
    const { errors, share } = await coverage(monitored(model, classes, calibration), windows, Z_95);
    const mean = errors.reduce((a, e) => a + Math.abs(e), 0) / errors.length;
    console.log(
      `flights: mean |estimated − realized accuracy| ${(100 * mean).toFixed(2)} pp over ${errors.length} windows (largest ${(100 * Math.max(...errors.map(Math.abs))).toFixed(2)} pp), ±1.96 SE coverage ${(100 * share("accuracy")).toFixed(0)}%`,
    );
    assert.equal(errors.length, 12);
    assert.ok(mean < 0.02, `mean absolute error ${(100 * mean).toFixed(2)} pp`);
  });

  test("concept drift (labels flipped where π > 0.6, scores unchanged): the estimate does not follow the realized drop", async () => {
    const random = seededRandom(99);
    const model = "cbpe-concept";
    const referenceWindow = await record(model, BINARY, binaryRows(random, 5000, 0));
    const stable = binaryRows(seededRandom(100), 1000, 0);
    const drifted = binaryRows(seededRandom(100), 1000, 0, (pi) => pi > 0.6);
    assert.deepEqual(
      drifted.map((r) => r.scores),
      stable.map((r) => r.scores),
      "the same scores in both windows",
    );
    const before = await record(model, BINARY, stable);
    const afterDrift = await record(model, BINARY, drifted);
    await flush();
    const calibration = await calibrateFromWindow(store.engine, { model, version: "1", classes: BINARY, window: referenceWindow });
    const target = monitored(model, BINARY, calibration);
    const accuracyOf = async (window: { fromUs: number; toUs: number }) => {
      const results = await evaluateWindow(store.engine, target, window);
      await saveMonitorResults(store.engine, results);
      const pick = (kind: string, metric: string) => results.find((r) => r.kind === kind && r.metric === metric && r.feature === "")!;
      return { realized: pick("quality", "accuracy").value, estimated: pick("estimated", "accuracy"), error: pick("estimated", "accuracy_error") };
    };
    const a = await accuracyOf(before);
    const b = await accuracyOf(afterDrift);
    console.log(
      `concept drift: realized accuracy ${a.realized.toFixed(3)} -> ${b.realized.toFixed(3)}, estimated ${a.estimated.value.toFixed(3)} -> ${b.estimated.value.toFixed(3)} (SE ${Number(b.estimated.details.sampling_error).toFixed(3)})`,
    );
    assert.ok(a.realized - b.realized > 0.15, "the truth moved");
    assert.equal(b.estimated.value, a.estimated.value, "scores alone cannot see it: the estimate stays where it was");
    assert.ok(Math.abs(a.error.value) <= 3 * Number(a.estimated.details.sampling_error), "before the drift the band holds the truth");
    assert.ok(b.error.value > 3 * Number(b.estimated.details.sampling_error), "after it the band misses the truth: the method's blind spot");
    const stored = await readMonitorResults(store.engine, {
      kind: "estimated",
      model,
      version: "1",
      fromMs: before.fromUs / 1000,
      toMs: afterDrift.toUs / 1000,
    });
    const storedErrors = stored.filter((r) => r.metric === "accuracy_error").map((r) => r.value);
    assert.deepEqual(storedErrors, [a.error.value, b.error.value], "the estimator's error is stored per window");

    const newest = await sampleMetric(store.engine, "estimated.accuracy_error", { model }, afterDrift.toUs / 1000 + 1, 10 * 60_000);
    assert.deepEqual(
      newest.map((x) => x.value),
      [b.error.value],
      "an alert rule on estimated.accuracy_error reads the newest window's error",
    );

    const api = await startMonitorApi({
      engine: store.engine,
      host: "127.0.0.1",
      port: 0,
      tokens: [],
      models: async (name) => (name === model ? { ...target, inputs: [] } : undefined),
      slos: [],
    });
    try {
      const response = await fetch(`${api.url}/api/v1/models/${model}/estimated?from=${before.fromUs / 1000}&to=${afterDrift.toUs / 1000}`);
      assert.equal(response.status, 200);
      const body = modelResultsSchema.parse(await response.json());
      const served = (metric: string) => body.points.filter((p) => p.metric === metric && p.feature === "");
      assert.deepEqual(
        served("accuracy").map((p) => [p.value, p.details.sampling_error, p.details.lower, p.details.upper]),
        [a.estimated, b.estimated].map((e) => [e.value, e.details.sampling_error, e.details.lower, e.details.upper]),
        "the API serves each window's estimate with its standard error and band",
      );
      assert.deepEqual(
        served("accuracy_error").map((p) => [p.value, p.details.realized]),
        [a.error, b.error].map((e) => [e.value, e.details.realized]),
        "and the estimator's error against the realized figure",
      );
    } finally {
      await api.close();
    }
  });
});

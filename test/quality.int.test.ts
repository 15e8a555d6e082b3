import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { seededRandom } from "@vigil/demo-model";
import { classificationQuality, qualityResults, regressionQuality, regressionResults, windows } from "@vigil/monitor";
import { type Store, saveMonitorResults } from "@vigil/store";
import { openTestStore } from "./support/recording.js";
import { FIXTURE_START_US, predictionRecord, tempDir } from "./support/store.js";

const TOLERANCE = 1e-9;

interface Scenario {
  model: string;
  classes: string[];
  rows: Array<{ truth: string | undefined; prediction: string; scores: number[] }>;
}

/** Softmax of random logits leaning towards the true class, as Float32 the way the log stores them. */
function scenario(
  model: string,
  classes: string[],
  n: number,
  seed: number,
  options: { truth?: (i: number, r: () => number) => number; predict?: (scores: number[]) => number; decimals?: number; labelShare?: number } = {},
): Scenario {
  const random = seededRandom(seed);
  const rows = Array.from({ length: n }, (_, i) => {
    const truth = options.truth ? options.truth(i, random) : Math.floor(random() * classes.length);
    const logits = classes.map((_, c) => random() * 2 + (c === truth ? 1.2 : 0));
    const exp = logits.map(Math.exp);
    const sum = exp.reduce((a, b) => a + b, 0);
    const scale = 10 ** (options.decimals ?? 7);
    const scores = exp.map((e) => Math.fround(Math.round((e / sum) * scale) / scale));
    const argmax = scores.indexOf(Math.max(...scores));
    const prediction = options.predict ? options.predict(scores) : argmax;
    const labelled = random() < (options.labelShare ?? 1);
    return { truth: labelled ? classes[truth] : undefined, prediction: classes[prediction]!, scores };
  });
  return { model, classes, rows };
}

const binary = scenario("q-binary", ["on_time", "delayed"], 2000, 1, { decimals: 2, labelShare: 0.7 });
const neverPredicted = scenario("q-never-predicted", ["a", "b", "c"], 1500, 2, { predict: (s) => (s[0]! >= s[1]! ? 0 : 1) });
const neverPresent = scenario("q-never-present", ["a", "b", "c"], 1500, 3, { truth: (_, r) => (r() < 0.5 ? 0 : 1) });
const oneClass = scenario("q-one-class", ["on_time", "delayed"], 500, 4, { truth: () => 0 });
const ALL = [binary, neverPredicted, neverPresent, oneClass];

/** A regression model's log: value predictions against numeric labels. */
interface RegressionScenario {
  model: string;
  rows: Array<{ y: number; yhat: number }>;
  /** R² where the target is constant and there is no variance to divide by: what regressionQuality documents. */
  constantTargetR2?: number;
}

const regressionRandom = seededRandom(9);
const noisyRows = Array.from({ length: 800 }, () => {
  const y = Math.round((regressionRandom() * 200 - 50) * 1000) / 1000;
  return { y, yhat: Math.fround(y + (regressionRandom() - 0.5) * 20) };
});
/** Exact in binary, so numpy's mean of it is exact too and scikit-learn also sees a variance of exactly 0. */
const CONSTANT_TARGET = 42.5;
const REGRESSION: RegressionScenario[] = [
  { model: "q-regression", rows: noisyRows },
  { model: "q-regression-constant", rows: noisyRows.map((r) => ({ y: CONSTANT_TARGET, yhat: r.yhat })), constantTargetR2: 0 },
  { model: "q-regression-constant-exact", rows: noisyRows.map(() => ({ y: CONSTANT_TARGET, yhat: CONSTANT_TARGET })), constantTargetR2: 1 },
];

async function sklearn(s: Scenario): Promise<Record<string, unknown>> {
  const labelled = s.rows.filter((r) => r.truth !== undefined);
  const input = JSON.stringify({
    classes: s.classes,
    y_true: labelled.map((r) => r.truth),
    y_pred: labelled.map((r) => r.prediction),
    scores: labelled.map((r) => r.scores),
  });
  const child = promisify(execFile)("/usr/bin/python3", [join(import.meta.dirname, "python", "classification_reference.py")], { encoding: "utf8" });
  child.child.stdin!.end(input);
  return JSON.parse((await child).stdout) as Record<string, unknown>;
}

function close(actual: number | null, expected: unknown, what: string): void {
  if (expected === null) {
    assert.equal(actual, null, `${what}: undefined in scikit-learn`);
    return;
  }
  assert.ok(actual !== null && Math.abs(actual - Number(expected)) <= TOLERANCE, `${what}: vigil ${actual} vs scikit-learn ${String(expected)}`);
}

describe("classification quality in ClickHouse SQL agrees with scikit-learn", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  const window = { fromUs: FIXTURE_START_US - 60e6, toUs: FIXTURE_START_US + 600e6 };

  before(async () => {
    dirs = await tempDir("vigil-quality-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") }, { maxBatchRows: 5000 });
    await store.ready();
    for (const s of ALL) {
      for (const [i, row] of s.rows.entries()) {
        const requestId = `${s.model}-${i}`;
        const at = FIXTURE_START_US + i * 1000;
        await store.predictions.append(
          predictionRecord(i, {
            modelName: s.model,
            requestId,
            timestampUs: at,
            status: "OK",
            prediction: row.prediction,
            scores: row.scores,
            confidence: Math.max(...row.scores),
          }),
        );
        if (row.truth === undefined) continue;
        // A stale label, older than the real one: the newest label must win.
        if (i % 7 === 0)
          await store.labels.append({
            requestId,
            rowIndex: 0,
            modelName: s.model,
            label: s.classes[(s.classes.indexOf(row.truth) + 1) % s.classes.length]!,
            timestampUs: at + 1_000_000,
            source: "test",
          });
        await store.labels.append({ requestId, rowIndex: 0, modelName: s.model, label: row.truth, timestampUs: at + 5_000_000, source: "test" });
      }
    }
    for (const { model, rows } of REGRESSION) {
      for (const [i, row] of rows.entries()) {
        const requestId = `${model}-${i}`;
        await store.predictions.append(
          predictionRecord(i, { modelName: model, requestId, status: "OK", prediction: String(row.yhat), scores: [row.yhat], confidence: 0 }),
        );
        await store.labels.append({ requestId, rowIndex: 0, modelName: model, label: String(row.y), timestampUs: FIXTURE_START_US + 5e6, source: "test" });
      }
    }
    await store.predictions.flush();
    await store.labels.flush();
  });
  after(async () => {
    await store.close();
    await dirs.remove();
  });

  for (const s of ALL) {
    test(`${s.model}: every figure within ${TOLERANCE} of scikit-learn`, async () => {
      const [vigil, reference] = await Promise.all([classificationQuality(store.engine, { model: s.model, classes: s.classes, window }), sklearn(s)]);
      assert.equal(vigil.rows, reference.rows);
      close(vigil.accuracy, reference.accuracy, "accuracy");
      assert.deepEqual(vigil.confusion, reference.confusion);
      const perClass = reference.per_class as Array<Record<string, number>>;
      assert.equal(perClass.length, s.classes.length, "scikit-learn's figures cover every class");
      assert.deepEqual(
        vigil.perClass.map((c) => c.class),
        s.classes,
        "one entry per class, in order",
      );
      for (const [i, expected] of perClass.entries()) {
        const c = vigil.perClass[i]!;
        for (const key of ["precision", "recall", "f1"] as const) close(c[key], expected[key], `${c.class} ${key}`);
        assert.equal(c.support, expected.support, `${c.class} support`);
      }
      for (const avg of ["macro", "micro", "weighted"] as const) {
        for (const key of ["precision", "recall", "f1"] as const) close(vigil[avg][key], (reference[avg] as Record<string, number>)[key], `${avg} ${key}`);
      }
      const aucPerClass = reference.auc_per_class as Array<number | null>;
      assert.deepEqual([aucPerClass.length, vigil.rocAucPerClass.length], [s.classes.length, s.classes.length], "ROC AUC per class");
      for (const [i, v] of aucPerClass.entries()) close(vigil.rocAucPerClass[i]!, v, `ROC AUC of ${s.classes[i]}`);
      close(vigil.rocAuc, reference.auc, "ROC AUC");
      close(vigil.logLoss, reference.log_loss, "log loss");
      close(vigil.brier, reference.brier, "Brier score");
      close(vigil.expectedCalibrationError, reference.ece, "expected calibration error");
      const calibration = reference.calibration as typeof vigil.calibration;
      assert.deepEqual(
        vigil.calibration.map((b) => [b.lower, b.upper, b.rows]),
        calibration.map((b) => [b.lower, b.upper, b.rows]),
        "reliability bins",
      );
      for (const [i, expected] of calibration.entries()) {
        close(vigil.calibration[i]!.meanConfidence, expected.meanConfidence, `bin ${expected.lower} mean confidence`);
        close(vigil.calibration[i]!.accuracy, expected.accuracy, `bin ${expected.lower} accuracy`);
      }
    });
  }

  for (const s of REGRESSION) {
    test(`${s.model}: MAE, RMSE and R² within ${TOLERANCE} of scikit-learn`, async () => {
      const vigil = await regressionQuality(store.engine, { model: s.model, window });
      // RMSE as the square root of MSE: mean_squared_error's squared=False is gone from scikit-learn 1.6,
      // and root_mean_squared_error only arrived in 1.4 (Debian's python3-sklearn is older).
      const python = `
import json, math, sys
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
d = json.load(sys.stdin)
print(json.dumps({"mae": mean_absolute_error(d["y"], d["yhat"]), "rmse": math.sqrt(mean_squared_error(d["y"], d["yhat"])), "r2": r2_score(d["y"], d["yhat"])}))`;
      const child = promisify(execFile)("/usr/bin/python3", ["-c", python], { encoding: "utf8" });
      child.child.stdin!.end(JSON.stringify({ y: s.rows.map((r) => r.y), yhat: s.rows.map((r) => r.yhat) }));
      const reference = JSON.parse((await child).stdout) as { mae: number; rmse: number; r2: number };
      assert.equal(vigil.rows, s.rows.length);
      close(vigil.mae, reference.mae, "MAE");
      close(vigil.rmse, reference.rmse, "RMSE");
      close(vigil.r2, reference.r2, "R²");
      if (s.constantTargetR2 !== undefined) assert.deepEqual([vigil.r2, reference.r2], [s.constantTargetR2, s.constantTargetR2], "R² of a constant target");
    });
  }

  test("label coverage and delay: 70% labelled, each label 5 s after its prediction", async () => {
    const q = await classificationQuality(store.engine, { model: "q-binary", classes: binary.classes, window });
    const labelled = binary.rows.filter((r) => r.truth !== undefined).length;
    assert.deepEqual([q.labelCoverage.predictions, q.labelCoverage.labelled], [2000, labelled]);
    assert.ok(Math.abs(q.labelCoverage.share! - labelled / 2000) < 1e-12);
    assert.equal(q.labelCoverage.meanDelaySeconds, 5);
    assert.equal(q.labelCoverage.medianDelaySeconds, 5);
  });

  test("a regression model's label coverage and delay, also as result rows", async () => {
    const s = REGRESSION[0]!;
    const q = await regressionQuality(store.engine, { model: s.model, window });
    // Every row labelled once, at FIXTURE_START_US + 5 s; row i was predicted at FIXTURE_START_US + i ms.
    const delays = s.rows.map((_, i) => 5 - i / 1000).sort((a, b) => a - b);
    assert.deepEqual([q.labelCoverage.predictions, q.labelCoverage.labelled, q.labelCoverage.share], [s.rows.length, s.rows.length, 1]);
    assert.ok(Math.abs(q.labelCoverage.meanDelaySeconds! - delays.reduce((a, b) => a + b, 0) / delays.length) < 1e-9, "mean delay");
    const middle = [delays[Math.floor((delays.length - 1) / 2)]!, delays[Math.floor(delays.length / 2)]!];
    assert.ok(
      middle.some((m) => Math.abs(q.labelCoverage.medianDelaySeconds! - m) < 1e-9),
      `median delay ${q.labelCoverage.medianDelaySeconds} is a middle delay (${middle.join(" or ")})`,
    );
    const rows = regressionResults(q, s.model, "");
    assert.deepEqual(
      rows.map((r) => r.metric),
      ["mae", "rmse", "r2", "label_coverage", "label_delay_seconds"],
    );
  });

  test("result rows carry every average, per-class ROC AUC and the calibration bins of the computation", async () => {
    const q = await classificationQuality(store.engine, { model: "q-binary", classes: binary.classes, window });
    const rows = qualityResults(q, "q-binary", "");
    const value = (metric: string, feature = "") => rows.find((r) => r.metric === metric && r.feature === feature)?.value;
    for (const average of ["macro", "micro", "weighted"] as const) {
      assert.equal(value(`precision_${average}`), q[average].precision, `precision_${average}`);
      assert.equal(value(`recall_${average}`), q[average].recall, `recall_${average}`);
      assert.equal(value(`f1_${average}`), q[average].f1, `f1_${average}`);
    }
    for (const [i, c] of q.classes.entries()) assert.equal(value("roc_auc_ovr", c) ?? null, q.rocAucPerClass[i], `ROC AUC of ${c} against the rest`);
    assert.deepEqual(rows.find((r) => r.metric === "expected_calibration_error")!.details.bins, q.calibration);
  });

  test("an empty window has no figures rather than zeros", async () => {
    const q = await classificationQuality(store.engine, {
      model: "q-binary",
      classes: binary.classes,
      window: { fromUs: window.toUs, toUs: window.toUs + 60e6 },
    });
    assert.equal(q.rows, 0);
    assert.deepEqual([q.accuracy, q.rocAuc, q.logLoss, q.brier, q.expectedCalibrationError, q.labelCoverage.share], [null, null, null, null, null, null]);
  });

  test("results land in monitor_results, and recomputing a window replaces them", async () => {
    const q = await classificationQuality(store.engine, { model: "q-binary", classes: binary.classes, window });
    const results = qualityResults(q, "q-binary", "1");
    await saveMonitorResults(store.engine, results, FIXTURE_START_US + 1e6);
    await saveMonitorResults(
      store.engine,
      results.map((r) => (r.metric === "accuracy" ? { ...r, value: 0.5 } : r)),
      FIXTURE_START_US + 2e6,
    );
    const rows = await store.engine.query<{ metric: string; feature: string; value: number }>(
      "SELECT metric, feature, value FROM monitor_results FINAL WHERE model_name = 'q-binary' AND kind = 'quality' ORDER BY metric, feature",
    );
    assert.equal(rows.length, results.length, "one row per figure after two runs");
    assert.equal(rows.find((r) => r.metric === "accuracy")!.value, 0.5, "the newer run wins");
    assert.deepEqual(
      rows.filter((r) => r.metric === "f1").map((r) => r.feature),
      ["delayed", "on_time"],
    );
    const [matrix] = await store.engine.query<{ details: string }>(
      "SELECT details FROM monitor_results FINAL WHERE model_name = 'q-binary' AND metric = 'confusion_matrix'",
    );
    assert.deepEqual(JSON.parse(matrix!.details), { classes: binary.classes, matrix: q.confusion });
  });

  test("windows tile a range: tumbling and sliding", () => {
    assert.deepEqual(windows(0, 30, 10), [
      { fromUs: 0, toUs: 10 },
      { fromUs: 10, toUs: 20 },
      { fromUs: 20, toUs: 30 },
    ]);
    assert.deepEqual(
      windows(0, 30, 20, 5).map((w) => w.fromUs),
      [0, 5, 10],
    );
    assert.throws(() => windows(0, 10, 0), /must be positive/);
  });
});

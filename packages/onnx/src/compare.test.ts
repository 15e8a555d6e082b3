import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { OnnxType, argmaxRows, buildOnnxModel, compareInt8, formatInt8Comparison, pairedAccuracy, quantizeDynamicInt8, seededRandom } from "./index.js";

const REFERENCE = join(import.meta.dirname, "..", "..", "..", "test", "python", "int8_reference.py");

/** Predictions for `labels` whose right/wrong pattern is the given one: a right row predicts its label, a wrong one the next class. */
const predictionsFor = (correct: boolean[], labels: number[], classes: number) => labels.map((y, i) => (correct[i] ? y : (y + 1) % classes));

describe("float versus int8 comparison", () => {
  test("the paired accuracy difference and its 95% interval equal an independent numpy/scipy computation", () => {
    const cases: Array<{ baseline: boolean[]; candidate: boolean[] }> = [];
    const next = seededRandom(42);
    // Sizes and disagreement rates from none (a perfect copy) to a clearly worse candidate.
    for (const [n, flip, worse] of [
      [500, 0, 0],
      [500, 0.02, 0.5],
      [2000, 0.05, 0.8],
      [40, 0.3, 0.5],
      [7, 0.5, 0.5],
    ] as const) {
      const baseline = Array.from({ length: n }, () => next() < 0.8);
      const candidate = baseline.map((right) => (next() < flip ? (next() < worse ? false : !right) : right));
      cases.push({ baseline, candidate });
    }
    const scipy = JSON.parse(
      execFileSync("/usr/bin/python3", [REFERENCE], {
        input: JSON.stringify({ task: "paired", cases: cases.map((c) => ({ baseline: c.baseline.map(Number), candidate: c.candidate.map(Number) })) }),
        encoding: "utf8",
      }),
    ) as Array<{ difference: number; lower: number; upper: number }>;
    cases.forEach((c, i) => {
      const labels = c.baseline.map((_, row) => row % 3);
      const ours = pairedAccuracy(predictionsFor(c.baseline, labels, 3), predictionsFor(c.candidate, labels, 3), labels);
      const expected = scipy[i]!;
      assert.ok(Math.abs(ours.difference - expected.difference) < 1e-12, `case ${i}: difference ${ours.difference} vs ${expected.difference}`);
      assert.ok(Math.abs(ours.interval[0] - expected.lower) < 1e-12, `case ${i}: lower ${ours.interval[0]} vs ${expected.lower}`);
      assert.ok(Math.abs(ours.interval[1] - expected.upper) < 1e-12, `case ${i}: upper ${ours.interval[1]} vs ${expected.upper}`);
      assert.ok(ours.interval[0] < ours.interval[1], "a real interval even when the two never disagree");
    });
  });

  test("agreement counts equal predictions, right or wrong; accuracy counts matches with the label", () => {
    const result = pairedAccuracy([0, 1, 2, 2, 1], [0, 1, 1, 2, 0], [0, 1, 2, 0, 0]);
    assert.equal(result.agreement, 3 / 5);
    assert.equal(result.accuracyBaseline, 3 / 5);
    assert.equal(result.accuracyCandidate, 3 / 5);
    assert.equal(result.difference, 0);
    assert.deepEqual([result.baselineOnly, result.candidateOnly], [1, 1]);
    assert.throws(() => pairedAccuracy([], [], []), /no labelled rows/);
    assert.throws(() => pairedAccuracy([0], [0, 1], [0]), /every row needs a prediction from both models/);
  });

  test("argmax takes the first of tied scores", () => {
    assert.deepEqual(argmaxRows([0.2, 0.5, 0.5, 0.9, 0.1, 0.0], 3), [1, 0]);
  });

  test("compareInt8 reports sizes, latency per batch size and agreement of a quantized classifier", async () => {
    const [width, classes] = [8, 3];
    const next = seededRandom(7);
    const weights = Float32Array.from({ length: width * classes }, () => next() - 0.5);
    const float = buildOnnxModel({
      name: "linear",
      inputs: [{ name: "x", type: OnnxType.FLOAT, dims: [-1, width] }],
      outputs: [{ name: "scores", type: OnnxType.FLOAT, dims: [-1, classes] }],
      initializers: [{ name: "w", type: OnnxType.FLOAT, dims: [width, classes], values: weights }],
      nodes: [{ op: "MatMul", inputs: ["x", "w"], outputs: ["scores"] }],
    });
    const rows = Array.from({ length: 60 }, () => Float32Array.from({ length: width }, () => next() * 2 - 1));
    // Labels are the float model's own answers, so its accuracy is 1 and the int8 model's equals the agreement.
    const floatScores = rows.map((r) => Array.from({ length: classes }, (_, k) => r.reduce((sum, v, j) => sum + v * weights[j * classes + k]!, 0)));
    const labels = argmaxRows(floatScores.flat(), classes);
    const report = await compareInt8({
      float,
      int8: quantizeDynamicInt8(float).model,
      width,
      labelled: { rows, labels },
      latencyRows: rows,
      batchSizes: [1, 16],
      runs: 5,
    });
    assert.deepEqual(
      report.latency.map((l) => l.batch),
      [1, 16],
    );
    for (const l of report.latency) assert.ok(l.floatMs > 0 && l.int8Ms > 0);
    assert.equal(report.bytes.float, float.byteLength);
    const q = report.quality!;
    assert.equal(q.rows, 60);
    assert.equal(q.accuracyBaseline, 1);
    assert.equal(q.accuracyCandidate, q.agreement);
    assert.ok(q.agreement > 0.9, `agreement ${q.agreement}`);
    const text = formatInt8Comparison(report).join("\n");
    assert.match(text, /^agreement [\d.]+% of 60 rows predict the same class$/m);
    assert.match(text, /95% CI \[[-+][\d.]+, [-+][\d.]+\]/);
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { lookAlpha, mannWhitneyU, mcnemarExact, overallVerdict, testVerdict, twoProportionTest, wilsonInterval } from "@vigil/monitor";
import { seededRandom } from "@vigil/demo-model";
import { rolloutReference as reference } from "./support/rollout.js";

/** Relative tolerance: the figures are sums of up to ~10^4 terms and normal tails; 1e-9 of the value leaves room for summation order only. */
const TOLERANCE = 1e-9;

function close(actual: number, expected: number, what: string): void {
  const scale = Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= TOLERANCE * scale, `${what}: vigil ${actual} vs reference ${expected}`);
}

/** A p-value is compared relative to itself, so tiny ones (1e-40) are checked as closely as large ones. */
function closeP(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= TOLERANCE * Math.max(expected, 1e-300), `${what}: vigil ${actual} vs reference ${expected}`);
}

const random = seededRandom(18);
const int = (max: number) => Math.floor(random() * max);

const wilsonCases = [
  { k: 0, n: 10 },
  { k: 10, n: 10 },
  { k: 3, n: 10 },
  ...Array.from({ length: 20 }, () => {
    const n = 1 + int(20_000);
    return { k: int(n + 1), n };
  }),
];
const mcnemarCases = [
  { primary_only: 0, candidate_only: 0, pairs: 50 },
  { primary_only: 7, candidate_only: 7, pairs: 100 },
  { primary_only: 0, candidate_only: 9, pairs: 30 },
  { primary_only: 180, candidate_only: 420, pairs: 4000 },
  { primary_only: 2500, candidate_only: 2650, pairs: 20_000 },
  ...Array.from({ length: 15 }, () => {
    const pairs = 20 + int(5000);
    const b = int(pairs / 3);
    return { primary_only: b, candidate_only: int(pairs - b), pairs };
  }),
];
const twoProportionCases = [
  { c1: 0, n1: 100, c2: 3, n2: 120 },
  { c1: 610, n1: 1000, c2: 800, n2: 1000 },
  { c1: 1, n1: 2, c2: 1, n2: 2 },
  ...Array.from({ length: 20 }, () => {
    const n1 = 1 + int(10_000);
    const n2 = 1 + int(10_000);
    return { c1: int(n1 + 1), n1, c2: int(n2 + 1), n2 };
  }),
];
/** Latencies in whole microseconds with many ties, as the log records them, and shifted samples. */
const sample = (n: number, shift: number) => Array.from({ length: n }, () => 1000 + shift + int(400));
const mannWhitneyCases = [
  { x: [1, 2, 2, 3], y: [2, 3, 4, 5, 5] },
  { x: [1, 2], y: [1, 2] },
  { x: [5, 5, 5], y: [5, 5] },
  { x: sample(30, 0), y: sample(40, 0) },
  { x: sample(500, 20), y: sample(700, 0) },
  { x: sample(3000, 0), y: sample(2000, 0) },
  { x: sample(2000, -60), y: sample(2500, 0) },
];

describe("rollout statistics agree with scipy and statsmodels", () => {
  const ref = reference({ wilson: wilsonCases, mcnemar: mcnemarCases, two_proportion: twoProportionCases, mann_whitney: mannWhitneyCases });

  test("Wilson interval of a proportion", () => {
    for (const [i, c] of wilsonCases.entries()) {
      const [low, high] = wilsonInterval(c.k, c.n);
      close(low, ref.wilson[i]!.low, `wilson ${c.k}/${c.n} low`);
      close(high, ref.wilson[i]!.high, `wilson ${c.k}/${c.n} high`);
    }
  });

  test("McNemar's exact test and the paired difference's interval", () => {
    for (const [i, c] of mcnemarCases.entries()) {
      const t = mcnemarExact(c.primary_only, c.candidate_only, c.pairs);
      const r = ref.mcnemar[i]!;
      closeP(t.pValue, r.p, `mcnemar ${JSON.stringify(c)} p`);
      close(t.difference, r.difference, "difference");
      close(t.interval[0], r.low, "low");
      close(t.interval[1], r.high, "high");
    }
  });

  test("two-proportion z-test and the difference's Wald interval", () => {
    for (const [i, c] of twoProportionCases.entries()) {
      const t = twoProportionTest("accuracy", { count: c.c1, n: c.n1 }, { count: c.c2, n: c.n2 });
      const r = ref.two_proportion[i]!;
      if (Number.isNaN(r.z)) {
        // statsmodels divides 0 by 0 when both shares are 0 or 1: no evidence of a difference.
        assert.equal(t.pValue, 1, `${JSON.stringify(c)}: equal extreme shares`);
        continue;
      }
      close(t.statistic, r.z, `${JSON.stringify(c)} z`);
      closeP(t.pValue, r.p, `${JSON.stringify(c)} p`);
      close(t.interval[0], r.low, "low");
      close(t.interval[1], r.high, "high");
    }
  });

  test("Mann-Whitney U with ties, from rank sums", () => {
    for (const [i, c] of mannWhitneyCases.entries()) {
      const r = ref.mann_whitney[i]!;
      const t = mannWhitneyU({ candidateRankSum: r.rank_sum, candidateN: c.x.length, primaryN: c.y.length, tieSum: r.tie_sum });
      close(t.statistic, r.u, `case ${i} U`);
      closeP(t.pValue, r.p, `case ${i} p`);
    }
  });

  test("alpha spending sums to at most the significance over any number of looks", () => {
    let spent = 0;
    for (let k = 1; k <= 100_000; k++) spent += lookAlpha(0.05, k);
    assert.ok(spent <= 0.05 && spent > 0.0499, `spent ${spent}`);
    close(lookAlpha(0.05, 1), (0.05 * 6) / Math.PI ** 2, "first look");
    close(lookAlpha(0.05, 3), lookAlpha(0.05, 1) / 9, "third look");
  });

  test("verdict rules: worse beats better, quality alone makes better", () => {
    const accuracyUp = mcnemarExact(10, 200, 1000);
    const errorsUp = twoProportionTest("error_rate", { count: 90, n: 1000 }, { count: 10, n: 1000 });
    assert.equal(testVerdict(accuracyUp, 0.01, true), "better");
    assert.equal(testVerdict(errorsUp, 0.01, false), "worse");
    assert.equal(testVerdict(errorsUp, 1e-30, false), "not yet distinguishable");
    assert.equal(overallVerdict({ quality: "better", errorRate: "worse", latency: "not yet distinguishable" }), "worse");
    assert.equal(overallVerdict({ quality: "better", errorRate: "not yet distinguishable", latency: "better" }), "better");
    assert.equal(overallVerdict({ errorRate: "better", latency: "better" }), "not yet distinguishable");
    assert.equal(overallVerdict({ errorRate: "not yet distinguishable", latency: "worse" }), "worse");
  });
});

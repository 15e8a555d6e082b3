import assert from "node:assert/strict";
import { test } from "node:test";
import { KS_EXACT_MAX_SIZE, kolmogorovSmirnovStatistic, kolmogorovSmirnovTwoSample } from "@vigil/monitor";
import { scipyKs } from "./support/scipy-ks.js";

/** Seeded normal values, rounded to `digits` so that some pairs carry many ties. */
function normalSample(size: number, seed: number, shift: number, digits: number): number[] {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  return Array.from({ length: size }, () => Number((Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()) + shift).toFixed(digits)));
}

/** Sizes from tiny to scipy's exact limit (equal, coprime, with a common factor), and past it on one or both sides. */
const SIZES: Array<[number, number]> = [
  [5, 5],
  [3, 7],
  [8, 12],
  [20, 20],
  [20, 30],
  [72, 341],
  [228, 341],
  [100, 100],
  [150, 151],
  [500, 700],
  [1000, 1000],
  [2000, 3000],
  [5000, 10000],
  [10000, 10000],
  [10001, 50],
  [20000, 300],
  [15000, 20000],
];

test("two-sample Kolmogorov-Smirnov against scipy.stats.ks_2samp: exact statistic, exact p up to 10,000 per sample, asymptotic beyond", () => {
  const pairs = SIZES.map(([n1, n2], k) => {
    const digits = k % 3 === 0 ? 1 : 6;
    return { a: normalSample(n1, 11 + k, 0, digits), b: normalSample(n2, 101 + k, k % 2 === 0 ? 0.05 : 0.2, digits) };
  });
  const scipy = scipyKs(pairs);
  pairs.forEach(({ a, b }, k) => {
    const label = `sizes ${a.length} and ${b.length}`;
    const statistic = kolmogorovSmirnovStatistic(Float64Array.from(a).sort(), Float64Array.from(b).sort());
    const reference = scipy[k]!;
    assert.ok(Math.abs(statistic - reference.statistic) <= 1e-12, `${label}: D ${statistic} vs scipy ${reference.statistic}`);
    const { pValue, method } = kolmogorovSmirnovTwoSample(statistic, a.length, b.length);
    if (Math.max(a.length, b.length) <= KS_EXACT_MAX_SIZE) {
      assert.equal(method, "exact", label);
      assert.ok(Math.abs(pValue - reference.p) <= 1e-9, `${label}: exact p ${pValue} vs scipy ${reference.p}`);
    } else {
      // scipy's asymptotic p is kstwo.sf(D, round(n1·n2/(n1+n2))); Vigil's is Kolmogorov's limit
      // with Stephens' correction. The README states the difference this test bounds.
      assert.equal(method, "asymptotic", label);
      assert.ok(Math.abs(pValue - reference.p) <= 0.02, `${label}: asymptotic p ${pValue} vs scipy ${reference.p}`);
    }
  });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { classify, formatScore } from "./classification.js";

test("scores print as C's %g (C++ ostream's default), the format of Triton's classification strings", () => {
  // Right-hand sides are what printf("%g") prints for each value.
  const cases: Array<[number, string]> = [
    [0.873421234, "0.873421"],
    [0.5, "0.5"],
    [1, "1"],
    [100, "100"],
    [1234567, "1.23457e+06"],
    [123456.4, "123456"],
    [0.0000123, "1.23e-05"],
    [0.0001, "0.0001"],
    [1e-5, "1e-05"],
    [0.999999951, "1"],
    [999999.5, "1e+06"],
    [-2.5, "-2.5"],
    [0.12345678, "0.123457"],
    [1e20, "1e+20"],
    [3.0517578125e-5, "3.05176e-05"],
    [Number.POSITIVE_INFINITY, "inf"],
  ];
  for (const [value, printed] of cases) assert.equal(formatScore(value), printed, String(value));
});

test("classify keeps the top classes per row, highest first, ties by class index", () => {
  const scores = { name: "p", datatype: "FP32" as const, shape: [2, 3], data: Float32Array.from([0.25, 0.5, 0.25, 3, 1, 2]) };
  const top = classify(scores, 2, true, ["a", "b", "c"]);
  assert.deepEqual(top, { name: "p", datatype: "BYTES", shape: [2, 2], data: ["0.5:1:b", "0.25:0:a", "3:0:a", "2:2:c"] });
  const unbatched = classify({ name: "q", datatype: "INT64", shape: [3], data: BigInt64Array.from([4n, 9n, 1n]) }, 1, false, undefined);
  assert.deepEqual(unbatched.data, ["9:1"]);
  assert.deepEqual(unbatched.shape, [1]);
  assert.throws(() => classify({ name: "s", datatype: "BYTES", shape: [1], data: ["x"] }, 1, false, undefined), /classification ranks numeric scores only/);
});

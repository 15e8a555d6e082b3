import assert from "node:assert/strict";
import { test } from "node:test";
import type { ModelStatistics } from "@vigil/proto";
import { sumStatistics } from "./statistics.js";

const d = (count: number, ns: number) => ({ count: BigInt(count), ns: BigInt(ns) });

function stats(name: string, version: string, n: number, last: number, batches: number[]): ModelStatistics {
  return {
    name,
    version,
    lastInference: BigInt(last),
    inferenceCount: BigInt(n),
    executionCount: BigInt(n),
    inferenceStats: {
      success: d(n, n * 100),
      fail: d(1, 5),
      queue: d(n, n * 10),
      computeInput: d(n, n),
      computeInfer: d(n, n * 50),
      computeOutput: d(n, n),
      cacheHit: d(0, 0),
      cacheMiss: d(0, 0),
    },
    batchStats: batches.map((size) => ({ batchSize: BigInt(size), computeInput: d(1, 1), computeInfer: d(1, size * 10), computeOutput: d(1, 1) })),
  };
}

test("statistics of several workers add up per model version, the last inference is the latest", () => {
  const summed = sumStatistics([[stats("flights", "1", 3, 1000, [1, 4]), stats("other", "2", 1, 50, [1])], [stats("flights", "1", 5, 900, [4, 8])], []]);
  assert.equal(summed.length, 2);
  const flights = summed.find((s) => s.name === "flights")!;
  assert.equal(flights.inferenceCount, 8n);
  assert.equal(flights.executionCount, 8n);
  assert.equal(flights.lastInference, 1000n);
  assert.deepEqual(flights.inferenceStats!.success, d(8, 800));
  assert.deepEqual(flights.inferenceStats!.fail, d(2, 10));
  assert.deepEqual(
    flights.batchStats.map((b) => [b.batchSize, b.computeInfer]),
    [
      [1n, d(1, 10)],
      [4n, d(2, 80)],
      [8n, d(1, 80)],
    ],
  );
  assert.deepEqual(
    summed.find((s) => s.name === "other"),
    stats("other", "2", 1, 50, [1]),
  );
});

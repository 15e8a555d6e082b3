import type { InferBatchStatistics, InferStatistics, ModelStatistics, StatisticDuration } from "@vigil/proto";

const DURATIONS = ["success", "fail", "queue", "computeInput", "computeInfer", "computeOutput", "cacheHit", "cacheMiss"] as const;
const BATCH_DURATIONS = ["computeInput", "computeInfer", "computeOutput"] as const;

/** Math.max for bigints. */
function latest(a: bigint, b: bigint): bigint {
  if (a > b) return a;
  return b;
}

function addDuration(a: StatisticDuration | undefined, b: StatisticDuration | undefined): StatisticDuration | undefined {
  if (!a || !b) return a ?? b;
  return { count: a.count + b.count, ns: a.ns + b.ns };
}

function addInference(a: InferStatistics | undefined, b: InferStatistics | undefined): InferStatistics | undefined {
  if (!a || !b) return a ?? b;
  const sum = { ...a };
  for (const key of DURATIONS) sum[key] = addDuration(a[key], b[key]);
  return sum;
}

function addBatches(a: InferBatchStatistics[], b: InferBatchStatistics[]): InferBatchStatistics[] {
  const bySize = new Map<bigint, InferBatchStatistics>(a.map((s) => [s.batchSize, s]));
  for (const s of b) {
    const seen = bySize.get(s.batchSize);
    if (!seen) {
      bySize.set(s.batchSize, s);
      continue;
    }
    const sum = { ...seen };
    for (const key of BATCH_DURATIONS) sum[key] = addDuration(seen[key], s[key]);
    bySize.set(s.batchSize, sum);
  }
  return [...bySize.values()].sort((x, y) => (x.batchSize < y.batchSize ? -1 : x.batchSize > y.batchSize ? 1 : 0));
}

/**
 * The statistics of every worker as one server's: per model version, counts and durations added,
 * the last inference the latest of any worker's. Versions are listed as the workers listed them.
 */
export function sumStatistics(perWorker: ModelStatistics[][]): ModelStatistics[] {
  const byVersion = new Map<string, ModelStatistics>();
  for (const stats of perWorker) {
    for (const s of stats) {
      const key = `${s.name}\u0000${s.version}`;
      const seen = byVersion.get(key);
      byVersion.set(
        key,
        seen
          ? {
              ...seen,
              lastInference: latest(seen.lastInference, s.lastInference),
              inferenceCount: seen.inferenceCount + s.inferenceCount,
              executionCount: seen.executionCount + s.executionCount,
              inferenceStats: addInference(seen.inferenceStats, s.inferenceStats),
              batchStats: addBatches(seen.batchStats, s.batchStats),
            }
          : s,
      );
    }
  }
  return [...byVersion.values()];
}

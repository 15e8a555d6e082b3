import type { StoreEngine } from "@vigil/store";
import { type FeatureProfile, type FeatureSpec, profileFromValues } from "@vigil/monitor";

export const CLASSES = ["on_time", "delayed"];
export const FEATURES: FeatureSpec[] = [
  { name: "hour", index: 0, kind: "categorical", categories: Array.from({ length: 24 }, (_, h) => String(h)) },
  { name: "weekday", index: 1, kind: "categorical", categories: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] },
  { name: "distance", index: 2, kind: "numerical" },
  { name: "origin", index: 3, kind: "categorical", categories: Array.from({ length: 80 }, (_, i) => `A${i}`) },
  { name: "destination", index: 4, kind: "categorical", categories: Array.from({ length: 80 }, (_, i) => `B${i}`) },
];
/** Rows are one millisecond apart ending an hour ago: inside the tables' retention, whatever the size. */
export const startUs = (n: number) => (Date.now() - 3_600_000 - n) * 1000;

/** n synthetic predictions (one a millisecond, status OK) with labels, made by ClickHouse from numbers(n) with a seeded hash. */
export async function generate(engine: StoreEngine, model: string, n: number, start: number): Promise<void> {
  await engine.command(
    `INSERT INTO predictions (timestamp, request_id, row_index, model_name, model_version, status, latency_us, features, prediction, scores, confidence)
     SELECT fromUnixTimestamp64Micro(toInt64({start:Int64} + number * 1000), 'UTC'), concat({model:String}, '-', toString(number)), 0,
            {model:String}, '1', 'OK', toUInt32(500 + cityHash64(number, 6) % 5000),
            [toFloat64(number % 24), toFloat64(intDiv(number, 24) % 7), 100 + (cityHash64(number, 1) % 2500), toFloat64(cityHash64(number, 2) % 80), toFloat64(cityHash64(number, 3) % 80)],
            if(p >= 0.5, 'delayed', 'on_time'), [toFloat32(1 - p), toFloat32(p)], toFloat32(greatest(p, 1 - p))
     FROM (SELECT number, (cityHash64(number, 4) % 1000) / 1000 AS p FROM numbers({n:UInt64}))`,
    { start, model, n },
  );
  await engine.command(
    `INSERT INTO labels (request_id, row_index, model_name, label, timestamp, source)
     SELECT concat({model:String}, '-', toString(number)), 0, {model:String},
            if((cityHash64(number, 4) % 1000) / 1000 + (cityHash64(number, 5) % 1000) / 2000 >= 0.75, 'delayed', 'on_time'),
            fromUnixTimestamp64Micro(toInt64({start:Int64} + number * 1000 + 60000000), 'UTC'), 'bench'
     FROM numbers({n:UInt64})`,
    { start, model, n },
  );
}

/** A 100k-row reference drawn like the generated rows; its size does not enter the monitor's cost per window. */
export function referenceRows(): number[][] {
  return Array.from({ length: 100_000 }, (_, i) => [i % 24, Math.floor(i / 24) % 7, 100 + ((i * 7919) % 2500), (i * 31) % 80, (i * 17) % 80]);
}

/** The reference's values of each feature, in FEATURES order. */
export const referenceColumns = (rows = referenceRows()) => FEATURES.map((f) => rows.map((r) => r[f.index]!));

export function referenceProfiles(): FeatureProfile[] {
  const columns = referenceColumns();
  return FEATURES.map((f, j) => profileFromValues(f, columns[j]!));
}

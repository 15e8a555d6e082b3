import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildVocabulary, createFlightEncoder, demoModelConfig, loadFlights, seededRandom, splitByMonth } from "@vigil/demo-model";
import { type FeatureSpec, datasetDrift, decideDrift, driftFromSummary, profileFromValues, summarizeValues } from "@vigil/monitor";

/**
 * The default drift decisions on many samples with no drift (false alarms) and with a planted
 * shift of stated size (detection), on the flights training data. Seeded, so the counts are the
 * same on every run. For p-value tests the false-alarm rate is bounded with statistical slack:
 * the observed rate must not exceed 5% + 2.33 standard errors (a one-sided 99% bound on 5%).
 */
const { train } = splitByMonth(loadFlights());
const vocabulary = buildVocabulary(train);
const encode = createFlightEncoder(vocabulary);
const rows = train.map(encode);
const FEATURES: FeatureSpec[] = demoModelConfig(vocabulary).monitored_features.map((f) => ({
  name: f.name,
  index: f.column,
  kind: f.kind,
  categories: f.categories,
}));

const sample = (source: number[][], size: number, random: () => number) => Array.from({ length: size }, () => source[Math.floor(random() * source.length)]!);
const column = (data: number[][], i: number) => data.map((r) => r[i]!);
type Shift = (row: number[]) => number[];
const scaleDistance =
  (factor: number): Shift =>
  (r) => [r[0]!, r[1]!, r[2]! * factor, r[3]!, r[4]!];
const SHIFTS: Record<string, Shift> = {
  distance: scaleDistance(1.2),
  /** The tests on 500 rows need a larger effect for 95% power than the distances on 1,000. */
  distanceSmall: scaleDistance(1.25),
  hour: (r) => [(r[0]! + 2) % 24, r[1]!, r[2]!, r[3]!, r[4]!],
};

function rates(trials: number, draw: (random: () => number) => { reference: number[][]; current: number[][] }, seed: number) {
  const random = seededRandom(seed);
  const drifted: Record<string, number> = Object.fromEntries(FEATURES.map((f) => [f.name, 0]));
  let dataset = 0;
  const methods = new Set<string>();
  for (let t = 0; t < trials; t++) {
    const { reference, current } = draw(random);
    const decisions = FEATURES.map((f) => {
      const profile = profileFromValues(f, column(reference, f.index));
      const decision = decideDrift(profile, driftFromSummary(profile, summarizeValues(profile, column(current, f.index))));
      methods.add(`${f.name}:${decision.method}`);
      if (decision.drifted) drifted[f.name]!++;
      return decision;
    });
    if (datasetDrift(decisions).drifted) dataset++;
  }
  return { rate: (name: string) => drifted[name]! / trials, dataset: dataset / trials, methods: [...methods].sort() };
}

const maxFalseAlarm = (trials: number) => 0.05 + 2.33 * Math.sqrt((0.05 * 0.95) / trials);

describe("drift decisions at default thresholds", () => {
  test("large reference (12,901 rows, distance methods): no-drift samples rarely alarm, planted shifts are caught", (t) => {
    const profiles = FEATURES.map((f) => profileFromValues(f, column(rows, f.index)));
    const trials = 200;
    const judge = (shift: Shift | undefined, seed: number) => {
      const random = seededRandom(seed);
      const counts: Record<string, number> = Object.fromEntries(FEATURES.map((f) => [f.name, 0]));
      for (let i = 0; i < trials; i++) {
        const current = sample(rows, 1000, random).map((r) => (shift ? shift(r) : r));
        FEATURES.forEach((f, k) => {
          const profile = profiles[k]!;
          if (decideDrift(profile, driftFromSummary(profile, summarizeValues(profile, column(current, f.index)))).drifted) counts[f.name]!++;
        });
      }
      return (name: string) => counts[name]! / trials;
    };
    const calm = judge(undefined, 11);
    for (const f of FEATURES) assert.ok(calm(f.name) <= 0.05, `${f.name}: false alarms ${calm(f.name)}`);
    const distance = judge(SHIFTS.distance, 12);
    const hour = judge(SHIFTS.hour, 13);
    t.diagnostic(
      `false alarms ${FEATURES.map((f) => `${f.name} ${calm(f.name)}`).join(", ")}; detection distance*1.2 ${distance("distance")}, hour+2 ${hour("hour")}`,
    );
    assert.ok(distance("distance") >= 0.95, `distance scaled by 1.2 detected in ${distance("distance")} of samples`);
    assert.ok(hour("hour") >= 0.95, `hour shifted by 2 detected in ${hour("hour")} of samples`);
  });

  test("small reference (800 rows, statistical tests at p ≤ 0.05): false alarms within 5% + slack, shifts caught", (t) => {
    const trials = 300;
    const draw = (shift?: Shift) => (random: () => number) => ({
      reference: sample(rows, 800, random),
      current: sample(rows, 500, random).map((r) => (shift ? shift(r) : r)),
    });
    const calm = rates(trials, draw(), 21);
    t.diagnostic(
      `methods ${calm.methods.join(", ")}; false alarms ${FEATURES.map((f) => `${f.name} ${calm.rate(f.name)}`).join(", ")}; dataset ${calm.dataset}`,
    );
    for (const f of FEATURES) assert.ok(calm.rate(f.name) <= maxFalseAlarm(trials), `${f.name}: false alarms ${calm.rate(f.name)} > ${maxFalseAlarm(trials)}`);
    assert.ok(calm.dataset <= 0.05, `dataset drift false alarms ${calm.dataset}`);
    const distance = rates(100, draw(SHIFTS.distanceSmall), 22);
    const hour = rates(100, draw(SHIFTS.hour), 23);
    t.diagnostic(`detection distance*1.25 ${distance.rate("distance")}, hour+2 ${hour.rate("hour")}`);
    assert.ok(distance.rate("distance") >= 0.95, `distance scaled by 1.25 detected in ${distance.rate("distance")}`);
    assert.ok(hour.rate("hour") >= 0.95, `hour shifted by 2 detected in ${hour.rate("hour")}`);
  });
});

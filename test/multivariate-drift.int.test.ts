import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type FeatureSpec,
  decideDrift,
  featureDrift,
  fitReconstruction,
  profileFromValues,
  reconstructionBand,
  reconstructionDrift,
  reconstructionErrors,
} from "@vigil/monitor";
import type { Store } from "@vigil/store";
import { demoFlights } from "./support/flights.js";
import { openTestStore } from "./support/recording.js";
import { FIXTURE_START_US, predictionRecord, tempDir } from "./support/store.js";

/** Seeded standard normal values (Box-Muller over a linear congruential generator). */
function normals(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

const SPECS: FeatureSpec[] = [
  { name: "x1", index: 0, kind: "numerical" },
  { name: "x2", index: 1, kind: "numerical" },
  { name: "x3", index: 2, kind: "numerical" },
  { name: "tier", index: 3, kind: "categorical", categories: ["a", "b", "c", "d"] },
];

/**
 * Rows of four inputs: x2 follows x1 closely (or its mirror image, `sign` −1), x3 is independent
 * with 1% missing, tier a category independent of the rest. Flipping the sign changes how x1 and
 * x2 move together and leaves every input's own distribution as it was.
 */
function rows(count: number, seed: number, sign: 1 | -1): number[][] {
  const next = normals(seed);
  return Array.from({ length: count }, (_, i) => {
    const x1 = next();
    const x2 = sign * x1 + 0.3 * next();
    const x3 = i % 100 === 7 ? Number.NaN : next();
    const u = next();
    const tier = u < -0.5 ? 0 : u < 0.3 ? 1 : u < 1.2 ? 2 : 3;
    return [x1, x2, x3, tier];
  });
}

const columns = (data: number[][], width: number) => Array.from({ length: width }, (_, j) => data.map((r) => r[j]!));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function scikitLearn(reference: number[][], current: number[][], categorical: boolean[]) {
  const nullable = (data: number[][]) => data.map((r) => r.map((v) => (Number.isFinite(v) ? v : null)));
  const output = execFileSync("/usr/bin/python3", [join(import.meta.dirname, "python", "reconstruction_reference.py")], {
    input: JSON.stringify({ reference: nullable(reference), current: nullable(current), categorical }),
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(output.toString()) as { components: number; ratios: number[]; reference_errors: number[]; current_errors: number[] };
}

const reference = rows(4000, 1, 1);
const calm = rows(1500, 2, 1);
const flipped = rows(1500, 3, -1);
const fit = fitReconstruction(SPECS, columns(reference, SPECS.length))!;

describe("multivariate drift: reconstruction error of principal components", () => {
  test("the fit agrees with scikit-learn: components kept, their variance ratios, every row's error", () => {
    const python = scikitLearn(reference, [...calm, ...flipped], [false, false, false, true]);
    assert.equal(fit.components.length, python.components);
    for (const [k, r] of fit.explainedVarianceRatio.entries()) assert.ok(Math.abs(r - python.ratios[k]!) < 1e-9, `ratio ${k}: ${r} vs ${python.ratios[k]}`);
    const errors = reconstructionErrors(fit, [...reference, ...calm, ...flipped]);
    const expected = [...python.reference_errors, ...python.current_errors];
    assert.equal(errors.length, expected.length);
    for (const [i, e] of errors.entries()) assert.ok(Math.abs(e - expected[i]!) < 1e-7, `row ${i}: ${e} vs scikit-learn ${expected[i]}`);
  });

  describe("in ClickHouse SQL over the prediction log", () => {
    let dirs: Awaited<ReturnType<typeof tempDir>>;
    let store: Store;
    const calmWindow = { fromUs: FIXTURE_START_US, toUs: FIXTURE_START_US + 60e6 };
    const flippedWindow = { fromUs: FIXTURE_START_US + 60e6, toUs: FIXTURE_START_US + 120e6 };

    before(async () => {
      dirs = await tempDir("vigil-multivariate-");
      store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") }, { maxBatchRows: 5000 });
      await store.ready();
      for (const [window, data] of [
        [calmWindow, calm],
        [flippedWindow, flipped],
      ] as const) {
        for (const [i, features] of data.entries()) {
          await store.predictions.append(
            predictionRecord(i, { modelName: "mv", requestId: `mv-${window.fromUs}-${i}`, timestampUs: window.fromUs + i * 1000, status: "OK", features }),
          );
        }
      }
      await store.predictions.flush();
    });
    after(async () => {
      await store.close();
      await dirs.remove();
    });

    test("a window's mean error equals the rows' errors computed in memory; the flipped correlation is caught, the calm window is not", async (t) => {
      const calmDrift = (await reconstructionDrift(store.engine, fit, { model: "mv", window: calmWindow }))!;
      const flippedDrift = (await reconstructionDrift(store.engine, fit, { model: "mv", window: flippedWindow }))!;
      assert.equal(calmDrift.rows, calm.length);
      t.diagnostic(
        `reference mean error ${fit.referenceMeanError.toFixed(4)}; calm ${calmDrift.meanError.toFixed(4)}, flipped ${flippedDrift.meanError.toFixed(4)}, band up to ${calmDrift.upper.toFixed(4)} (${fit.components.length} of ${SPECS.length} components)`,
      );
      assert.ok(Math.abs(calmDrift.meanError - mean(reconstructionErrors(fit, calm))) < 1e-9, "calm mean error");
      assert.ok(Math.abs(flippedDrift.meanError - mean(reconstructionErrors(fit, flipped))) < 1e-9, "flipped mean error");
      assert.deepEqual(
        [calmDrift.drifted, flippedDrift.drifted],
        [false, true],
        `calm ${calmDrift.meanError} and flipped ${flippedDrift.meanError} against the band up to ${flippedDrift.upper}`,
      );
    });

    test("no per-input test sees the flipped correlation: every input keeps its distribution", async () => {
      const profiles = SPECS.map((spec, j) => profileFromValues(spec, columns(reference, SPECS.length)[j]!));
      const drift = await featureDrift(store.engine, { model: "mv", window: flippedWindow, features: SPECS, profiles });
      const verdicts = drift.map((d, j) => decideDrift(profiles[j]!, d));
      assert.equal(verdicts.length, SPECS.length);
      assert.deepEqual(
        verdicts.filter((v) => v.drifted).map((v) => v.feature),
        [],
        verdicts.map((v) => `${v.feature} ${v.method} ${v.score}`).join("; "),
      );
    });
  });

  test("no alarm on the reference's own months: every 1,000 flights of the demo model's training data lies inside the band", (t) => {
    const { train, encode, features: specs } = demoFlights();
    const encoded = train.map(encode);
    const flights = fitReconstruction(
      specs,
      specs.map((s) => encoded.map((row) => row[s.index]!)),
    );
    assert.ok(flights, "the demo model has enough inputs and rows for a fit");
    const chunks = Math.floor(encoded.length / 1000);
    for (let c = 0; c < chunks; c++) {
      const chunk = encoded.slice(c * 1000, (c + 1) * 1000).map((row) => specs.map((s) => row[s.index]!));
      const error = mean(reconstructionErrors(flights, chunk));
      const band = reconstructionBand(flights, chunk.length);
      t.diagnostic(`flights ${c * 1000}-${(c + 1) * 1000}: mean error ${error.toFixed(4)}, band ${band.lower?.toFixed(4) ?? "-"}..${band.upper.toFixed(4)}`);
      assert.ok(error < band.upper && (band.lower === null || error > band.lower), `chunk ${c}: ${error} outside ${band.lower}..${band.upper}`);
    }
  });
});

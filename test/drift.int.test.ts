import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import {
  MonitorJob,
  type FeatureProfile,
  type FeatureSpec,
  type NumericalProfile,
  chiSquareSurvival,
  coarsenCategories,
  decideDrift,
  driftFromSummary,
  ensureProfiles,
  featureDrift,
  loadProfiles,
  profileFromValues,
  profilesFromFile,
  profilesFromWindow,
  saveProfiles,
  summarizeValues,
  twoProportionZTest,
} from "@vigil/monitor";
import { type Store, predictionRow } from "@vigil/store";
import { type FeatureShift, parseShift, runLoadgen } from "@vigil/cli";
import { addDemoModel, tempRepository } from "./support/models.js";
import { openTestStore } from "./support/recording.js";
import { startTestServer } from "./support/server.js";
import { demoFlights } from "./support/flights.js";
import { scipyKs } from "./support/scipy-ks.js";
import { FIXTURE_START_US, predictionRecord, tempDir } from "./support/store.js";

const TOLERANCE = 1e-9;

/** The demo model's monitored features as the prediction log holds them. */
const { train, heldOut, encode, features: FEATURES } = demoFlights();
const column = (rows: number[][], i: number) => rows.map((r) => r[i]!);

/**
 * Pairs each monitored feature with its result after checking there is exactly one result per
 * feature, in order: a loop over the results alone would assert nothing if they came back empty.
 */
function perFeature<T extends { feature: string }>(results: T[]): Array<[FeatureSpec, T]> {
  assert.deepEqual(
    results.map((r) => r.feature),
    FEATURES.map((f) => f.name),
    "one result per monitored feature, in order",
  );
  return FEATURES.map((f, i) => [f, results[i]!]);
}

/**
 * A p-value against scipy's: within TOLERANCE where it is 1e-3 or more, and within a relative 1e-6
 * (compared in log space) below that, where an absolute bound would accept any tiny value at all.
 */
function assertPValue(actual: number, expected: number, what: string): void {
  const agrees = expected < 1e-3 ? actual > 0 && Math.abs(Math.log(actual) - Math.log(expected)) <= 1e-6 : Math.abs(actual - expected) <= TOLERANCE;
  assert.ok(agrees, `${what}: p ${actual} vs scipy ${expected}`);
}

describe("feature drift in ClickHouse SQL agrees with numpy and scipy (January-February vs March flights)", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  const reference = train.map(encode);
  const current = heldOut.map(encode);
  const profiles = FEATURES.map((f) => profileFromValues(f, column(reference, f.index)));
  const window = { fromUs: FIXTURE_START_US - 60e6, toUs: FIXTURE_START_US + 600e6 };
  let python: {
    features: Record<
      string,
      {
        reference_counts: number[];
        current_counts: number[];
        psi: number;
        js: number;
        deciles: number[] | null;
        chi?: { statistic: number; p: number };
        ks?: { statistic: number; p: number; p_asymp: number };
        wasserstein?: number;
        std?: number;
      }
    >;
    chi_sf: number[];
  };
  const chiCases: Array<[number, number]> = [
    [0.5, 1],
    [3.84, 1],
    [10, 4],
    [30, 23],
    [250, 87],
    [1500, 200],
    [0, 3],
  ];

  before(async () => {
    dirs = await tempDir("vigil-drift-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") }, { maxBatchRows: 5000 });
    await store.ready();
    for (const [i, features] of current.entries()) {
      await store.predictions.append(predictionRecord(i, { modelName: "drift-flights", requestId: `drift-${i}`, status: "OK", features }));
    }
    await store.predictions.flush();
    await saveProfiles(store.engine, "drift-flights", "1", profiles);
    const input = {
      features: profiles.map((p) =>
        p.kind === "numerical" ? { name: p.feature, kind: p.kind, edges: p.binEdges } : { name: p.feature, kind: p.kind, categories: p.categories },
      ),
      reference: Object.fromEntries(FEATURES.map((f) => [f.name, column(reference, f.index)])),
      current: Object.fromEntries(FEATURES.map((f) => [f.name, column(current, f.index)])),
      chi: chiCases,
    };
    const child = promisify(execFile)("/usr/bin/python3", [join(import.meta.dirname, "python", "drift_reference.py")], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    child.child.stdin!.end(JSON.stringify(input));
    python = JSON.parse((await child).stdout) as typeof python;
  });
  after(async () => {
    await store.close();
    await dirs.remove();
  });

  test("reference profiles: deciles as numpy computes them; a round trip through reference_profiles", async () => {
    const distance = profiles.find((p) => p.feature === "distance") as NumericalProfile;
    const deciles = python.features.distance!.deciles!;
    assert.deepEqual(distance.binEdges, [...new Set(deciles)]);
    assert.deepEqual(distance.binCounts, python.features.distance!.reference_counts);
    assert.deepEqual(
      await loadProfiles(store.engine, "drift-flights", "1"),
      [...profiles].sort((a, b) => a.feature.localeCompare(b.feature)),
    );
  });

  test("per feature: current counts exact; PSI, Jensen-Shannon and chi-square within 1e-9, p-values below 1e-3 within a relative 1e-6", async (t) => {
    const drift = await featureDrift(store.engine, {
      model: "drift-flights",
      window,
      features: FEATURES,
      profiles: await loadProfiles(store.engine, "drift-flights", "1"),
    });
    t.diagnostic(
      `March vs January-February: ${drift.map((d) => `${d.feature} PSI ${d.psi.toFixed(4)} JS ${d.jensenShannon.toFixed(4)}${d.chiSquare ? ` chi2 p ${d.chiSquare.pValue.toExponential(2)}` : ""}`).join("; ")}`,
    );
    assert.deepEqual(
      Object.keys(python.features),
      FEATURES.map((f) => f.name),
      "scipy's figures cover every monitored feature",
    );
    for (const [f, d] of perFeature(drift)) {
      const ref = python.features[f.name]!;
      assert.deepEqual(d.referenceCounts, ref.reference_counts, `${d.feature} reference counts`);
      assert.deepEqual(d.currentCounts, ref.current_counts, `${d.feature} current counts`);
      assert.ok(Math.abs(d.psi - ref.psi) <= TOLERANCE, `${d.feature} PSI ${d.psi} vs ${ref.psi}`);
      assert.ok(Math.abs(d.jensenShannon - ref.js) <= TOLERANCE, `${d.feature} JS ${d.jensenShannon} vs ${ref.js}`);
      if (ref.chi) {
        assert.ok(
          Math.abs(d.chiSquare!.statistic - ref.chi.statistic) <= TOLERANCE * Math.max(1, ref.chi.statistic),
          `${d.feature} chi-square ${d.chiSquare!.statistic} vs ${ref.chi.statistic}`,
        );
        assertPValue(d.chiSquare!.pValue, ref.chi.p, `${d.feature} chi-square`);
      } else {
        assert.equal(d.chiSquare, null);
      }
      if (ref.ks) {
        const ks = d.kolmogorovSmirnov!;
        t.diagnostic(
          `${d.feature}: KS ${ks.statistic} (+${ks.statisticBound}) p ${ks.pValue} vs scipy ${ref.ks.statistic} p ${ref.ks.p}; W1 ${d.wasserstein!.distance} vs ${ref.wasserstein}`,
        );
        // Documented accuracy: from the stored reference sample the statistic is scipy's and so is the exact
        // p-value; a histogram statistic never exceeds the true one and misses it by at most its bound, and
        // its p-value is within 0.005 of scipy's. Wasserstein-1 within 2%.
        if (ks.statisticFrom === "sample") {
          assert.ok(Math.abs(ks.statistic - ref.ks.statistic) <= 1e-12, `${d.feature} KS ${ks.statistic} vs ${ref.ks.statistic}`);
          assert.equal(ks.statisticBound, 0);
          assert.equal(ks.pValueMethod, "exact", `${d.feature}: both samples are within scipy's exact limit`);
          assert.ok(Math.abs(ks.pValue - ref.ks.p) <= 1e-9, `${d.feature} KS p ${ks.pValue} vs ${ref.ks.p}`);
        } else {
          assert.ok(ks.statistic <= ref.ks.statistic + 1e-12 && ref.ks.statistic <= ks.statistic + ks.statisticBound, `${d.feature} KS bounds`);
          assert.ok(Math.abs(ks.pValue - ref.ks.p) <= 0.005, `${d.feature} KS p ${ks.pValue} vs ${ref.ks.p}`);
        }
        assert.ok(
          Math.abs(d.wasserstein!.distance - ref.wasserstein!) <= 0.02 * ref.wasserstein!,
          `${d.feature} W1 ${d.wasserstein!.distance} vs ${ref.wasserstein}`,
        );
        assert.ok(Math.abs(d.wasserstein!.normed - ref.wasserstein! / ref.std!) <= 0.02 * (ref.wasserstein! / ref.std!), `${d.feature} normed W1`);
      } else {
        assert.deepEqual([d.kolmogorovSmirnov, d.wasserstein], [null, null]);
      }
    }
  });

  test("a reference small enough to keep whole: the statistic from its sample in SQL and the exact p-value are scipy's", async () => {
    // 341 reference rows against the 7,099-row window: scipy's default takes the exact distribution.
    const small = reference.slice(0, 341);
    const smallProfiles = FEATURES.map((f) => profileFromValues(f, column(small, f.index)));
    const drift = await featureDrift(store.engine, { model: "drift-flights", window, features: FEATURES, profiles: smallProfiles });
    const numerical = drift.filter((d) => d.kind === "numerical");
    assert.ok(numerical.length > 0, "the demo model monitors numerical inputs");
    const scipy = scipyKs(
      numerical.map((d) => {
        const index = FEATURES.find((f) => f.name === d.feature)!.index;
        return { a: column(small, index).filter(Number.isFinite), b: column(current, index).filter(Number.isFinite) };
      }),
    );
    numerical.forEach((d, k) => {
      const ks = d.kolmogorovSmirnov!;
      assert.deepEqual([ks.statisticFrom, ks.statisticBound, ks.pValueMethod], ["sample", 0, "exact"], d.feature);
      assert.ok(Math.abs(ks.statistic - scipy[k]!.statistic) <= 1e-12, `${d.feature} KS ${ks.statistic} vs scipy ${scipy[k]!.statistic}`);
      assert.ok(Math.abs(ks.pValue - scipy[k]!.p) <= 1e-9, `${d.feature} KS p ${ks.pValue} vs scipy ${scipy[k]!.p}`);
    });
  });

  test("profiles from a window of traffic equal profiles of the same values in memory", async () => {
    const fromWindow = await profilesFromWindow(store.engine, { model: "drift-flights", window, features: FEATURES });
    assert.deepEqual(
      fromWindow,
      FEATURES.map((f) => profileFromValues(f, column(current, f.index))),
    );
    await assert.rejects(
      profilesFromWindow(store.engine, { model: "no-such-model", window, features: FEATURES }),
      /no-such-model has no OK predictions in the reference window/,
    );
  });

  test("profiles from a reference file: features, predicted class and confidence as the log holds them; built once, then read from the store", async () => {
    const specs: FeatureSpec[] = [
      ...FEATURES,
      { name: "prediction", index: 0, kind: "categorical", categories: ["on_time", "delayed"], source: "prediction" },
      { name: "confidence", index: 0, kind: "numerical", source: "confidence" },
    ];
    const rows = reference
      .slice(0, 2000)
      .map((features, i) => ({ features, prediction: ["on_time", "delayed", "cancelled"][i % 3]!, confidence: 0.5 + (i % 97) / 200 }));
    const file = join(dirs.path, "reference.jsonl");
    await writeFile(file, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n\n`);
    const expected = [
      ...FEATURES.map((f) =>
        profileFromValues(
          f,
          rows.map((r) => r.features[f.index]!),
        ),
      ),
      profileFromValues(
        specs[5]!,
        rows.map((r) => ["on_time", "delayed"].indexOf(r.prediction)),
      ),
      profileFromValues(
        specs[6]!,
        rows.map((r) => r.confidence),
      ),
    ];
    assert.deepEqual(await profilesFromFile(file, specs), expected);
    const byFeature = (list: FeatureProfile[]) => [...list].sort((a, b) => a.feature.localeCompare(b.feature));
    assert.deepEqual(
      byFeature((await ensureProfiles(store.engine, { name: "ref-model", version: "3", features: specs, referenceFile: file }))!),
      byFeature(expected),
    );
    await rm(file);
    assert.deepEqual(
      byFeature((await ensureProfiles(store.engine, { name: "ref-model", version: "3", features: specs, referenceFile: file }))!),
      byFeature(expected),
      "the second call reads the stored profiles",
    );
    assert.equal(
      await ensureProfiles(store.engine, { name: "ref-model", version: "4", features: specs, referenceFile: file }),
      undefined,
      "no profile and no file: drift is skipped",
    );

    await writeFile(file, `${JSON.stringify(rows[0])}\n{"features": "x"}\n`);
    await assert.rejects(profilesFromFile(file, specs), new RegExp(`${file} line 2: expected \\{"features": \\[numbers\\]`));
  });

  test("chi-square survival function matches scipy across degrees of freedom", () => {
    assert.equal(python.chi_sf.length, chiCases.length);
    for (const [i, [x, k]] of chiCases.entries()) assertPValue(chiSquareSurvival(x, k), python.chi_sf[i]!, `chi2.sf(${x}, ${k})`);
  });

  test("loadgen's planted drift is caught; the same traffic unshifted is not", { timeout: 120_000 }, async () => {
    const repo = await tempRepository();
    await addDemoModel(repo.path);
    const server = await startTestServer({ model_repository: repo.path, log_level: "warn" }, store);
    try {
      const traffic = async (drift: FeatureShift[]) => {
        const fromUs = Date.now() * 1000;
        await runLoadgen({ target: server.address, model: "flights", rate: 0, concurrency: 8, requests: 600, durationMs: 0, batch: 1, drift, driftAfter: 0 });
        await store.predictions.flush();
        return featureDrift(store.engine, { model: "flights", window: { fromUs, toUs: Date.now() * 1000 + 1 }, features: FEATURES, profiles });
      };
      const byName = (drift: Awaited<ReturnType<typeof traffic>>) => Object.fromEntries(drift.map((d) => [d.feature, d]));
      const calm = byName(await traffic([]));
      const shifted = byName(await traffic([parseShift("distance*2.5"), parseShift("hour+8")]));
      assert.deepEqual([calm.distance!.drifted, calm.hour!.drifted], [false, false], `calm PSI distance ${calm.distance!.psi}, hour ${calm.hour!.psi}`);
      assert.deepEqual(
        [shifted.distance!.drifted, shifted.hour!.drifted],
        [true, true],
        `shifted PSI distance ${shifted.distance!.psi}, hour ${shifted.hour!.psi}`,
      );
      assert.ok(shifted.hour!.chiSquare!.pValue < 1e-10, "chi-square rejects the shifted hours");
      assert.ok(shifted.distance!.kolmogorovSmirnov!.pValue < 1e-10, "Kolmogorov-Smirnov rejects the scaled distances");
      assert.ok(shifted.distance!.wasserstein!.normed > 0.1, `normed Wasserstein ${shifted.distance!.wasserstein!.normed}`);
      assert.ok(calm.distance!.wasserstein!.normed < 0.1, `calm normed Wasserstein ${calm.distance!.wasserstein!.normed}`);
      // Weekday is not asserted: loadgen replays March in time order, so 600 requests span two days
      // and their weekday mix really does differ from January-February in both windows.
      assert.equal(
        shifted.distance!.currentCounts.reduce((a, b) => a + b, 0),
        600,
      );
    } finally {
      await server.stop();
      await repo.remove();
    }
  });

  test("the monitor job writes quality and drift results per window, once per window however often it runs", async () => {
    let failNext = false;
    const job = new MonitorJob(
      store.engine,
      () => {
        if (failNext) throw new Error("model list unavailable");
        return [{ name: "drift-flights", version: "", classes: ["on_time", "delayed"], features: FEATURES, profiles }];
      },
      { windowMs: 600_000, everyMs: 60_000, lagMs: 30_000 },
    );
    assert.deepEqual(job.windowAt(1_000_095_000), { fromUs: (1_000_020_000 - 600_000) * 1000, toUs: 1_000_020_000 * 1000 });
    const results = await job.runOnce(window);
    await job.runOnce(window);
    const drift = results.filter((r) => r.kind === "drift");
    assert.deepEqual(drift.map((r) => `${r.feature}:${r.metric}`).sort(), [
      ":dataset_drift_share",
      "destination:jensenshannon",
      "distance:wasserstein",
      "hour:jensenshannon",
      "origin:jensenshannon",
      "weekday:jensenshannon",
    ]);
    assert.equal(results.find((r) => r.metric === "label_coverage")!.value, 0, "no labels were sent for these predictions");
    const stored = await store.engine.query<{ n: string | number }>(
      "SELECT count() AS n FROM monitor_results FINAL WHERE model_name = 'drift-flights' AND window_start = fromUnixTimestamp64Milli({from:Int64}, 'UTC')",
      { from: window.fromUs / 1000 },
    );
    assert.equal(Number(stored[0]!.n), results.length, "two runs of one window leave one set of rows");
    failNext = true;
    await assert.rejects(job.runOnce(window), /model list unavailable/);
    assert.deepEqual([job.health().runs, job.health().failures, job.health().lastError], [3, 1, "model list unavailable"]);
    assert.deepEqual(job.health().lastWindow, window);
  });

  test("the job's ticks evaluate every closed window once, catching up after a stall and retrying a failed one", async () => {
    const evaluated: number[] = [];
    let failing = false;
    const job = new MonitorJob(
      store.engine,
      (w) => {
        if (failing) throw new Error("store unreachable");
        evaluated.push(w.toUs / 1000);
        return [];
      },
      { windowMs: 60_000, everyMs: 60_000, lagMs: 10_000 },
    );
    const t0 = 1_000_020_000;
    await job.tick(t0 + 10_000);
    await job.tick(t0 + 15_000);
    await job.tick(t0 + 69_999);
    assert.deepEqual(evaluated, [t0], "one window, evaluated once however often the job ticks");
    await job.tick(t0 + 3 * 60_000 + 10_500);
    assert.deepEqual(evaluated, [t0, t0 + 60_000, t0 + 120_000, t0 + 180_000], "a stalled job catches up on the windows it missed, in order");
    failing = true;
    await assert.rejects(job.tick(t0 + 4 * 60_000 + 10_000), /store unreachable/);
    failing = false;
    await job.tick(t0 + 5 * 60_000 + 10_000);
    assert.deepEqual(evaluated.slice(4), [t0 + 240_000, t0 + 300_000], "the failed window is evaluated on the next tick");
    assert.equal(job.dueWindows(t0 + 1_000 * 60_000).length, 60, "catch-up is bounded");
  });

  test("prediction drift (class mix) and confidence drift are judged like features", async () => {
    const prediction: FeatureSpec = { name: "prediction", index: 0, kind: "categorical", categories: ["on_time", "delayed"], source: "prediction" };
    const confidence: FeatureSpec = { name: "confidence", index: 0, kind: "numerical", source: "confidence" };
    const referencePredictions = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const referenceConfidence = Array.from({ length: 3000 }, (_, i) => 0.5 + (i % 500) / 1000);
    const specs = [prediction, confidence];
    const outputProfiles = [profileFromValues(prediction, referencePredictions), profileFromValues(confidence, referenceConfidence)];
    const drift = await featureDrift(store.engine, { model: "drift-flights", window, features: specs, profiles: outputProfiles });
    const delayed = current.filter((_, i) => i % 3 === 0).length;
    assert.deepEqual(drift[0]!.currentCounts, [current.length - delayed, delayed], "class counts of the window");
    const decisions = drift.map((d, i) => decideDrift(outputProfiles[i]!, d));
    assert.deepEqual(
      decisions.map((d) => [d.feature, d.method, d.drifted]),
      [
        ["prediction", "jensenshannon", false],
        ["confidence", "wasserstein", true],
      ],
    );
  });

  test("two-proportion z-test matches scipy's normal tail; sparse categories pool into one", async () => {
    const cases: Array<[number[], number[]]> = [
      [
        [480, 520],
        [450, 550],
      ],
      [
        [90, 10],
        [70, 30],
      ],
      [
        [500, 500],
        [500, 500],
      ],
      [
        [30, 970],
        [45, 955],
      ],
    ];
    const python = `
import json, sys, math
from scipy.stats import norm
out = []
for ref, cur in json.load(sys.stdin):
    n1, n2 = sum(ref), sum(cur)
    pooled = (ref[1] + cur[1]) / (n1 + n2)
    z = (ref[1] / n1 - cur[1] / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    out.append(2 * norm.sf(abs(z)))
print(json.dumps(out))`;
    const child = promisify(execFile)("/usr/bin/python3", ["-c", python], { encoding: "utf8" });
    child.child.stdin!.end(JSON.stringify(cases));
    const expected = JSON.parse((await child).stdout) as number[];
    assert.equal(expected.length, cases.length);
    for (const [i, [r, c]] of cases.entries()) assertPValue(twoProportionZTest(r, c), expected[i]!, `z-test ${i}`);
    assert.deepEqual(coarsenCategories([500, 300, 150, 30, 15, 5], [480, 320, 140, 40, 12, 8], 5), {
      reference: [500, 300, 150, 30, 15, 5],
      current: [480, 320, 140, 40, 12, 8],
    });
    assert.deepEqual(coarsenCategories([500, 300, 150, 30, 15, 5], [480, 320, 140, 40, 12, 8], 20), {
      reference: [500, 300, 150, 30, 20],
      current: [480, 320, 140, 40, 20],
    });
    assert.deepEqual(coarsenCategories([500, 300, 150, 30, 15, 5], [480, 320, 140, 40, 12, 8], 0, 3), { reference: [500, 300, 200], current: [480, 320, 200] });
  });

  test("NaN and infinite values and rows too short for a feature are left out of that feature's counts, not of the others'", async () => {
    const rows = current.slice(0, 600).map((features, i) => {
      if (i % 5 === 0) return features.map((v, f) => (f === 2 ? Number.NaN : v));
      if (i % 7 === 0) return features.map((v, f) => (f === 2 ? Number.POSITIVE_INFINITY : f === 0 ? Number.NaN : v));
      if (i % 11 === 0) return features.slice(0, 2);
      return features;
    });
    const lines = rows.map((features, i) =>
      JSON.stringify(predictionRow(predictionRecord(i, { modelName: "drift-nan", requestId: `nan-${i}`, status: "OK", features }))),
    );
    await store.engine.insertJsonLines("predictions", Buffer.from(`${lines.join("\n")}\n`));
    const drift = await featureDrift(store.engine, { model: "drift-nan", window, features: FEATURES, profiles });
    for (const [i, [f, d]] of perFeature(drift).entries()) {
      const values = rows.map((r) => r[f.index] ?? Number.NaN);
      const expected = summarizeValues(profiles[i]!, values);
      assert.deepEqual(d.currentCounts, expected.counts, `${d.feature} counts`);
      assert.equal(
        d.currentCounts.reduce((a, b) => a + b, 0),
        values.filter(Number.isFinite).length,
        `${d.feature} keeps only finite values`,
      );
      assert.deepEqual(d, driftFromSummary(profiles[i]!, expected), `${d.feature}: SQL and in-memory summaries give the same figures`);
    }
  });

  test("a window from the reference's own months shows no drift; an empty window has no figures", async () => {
    const sameMonths = train.filter((_, i) => i % 2 === 0).map(encode);
    const lines = sameMonths.map((features, i) =>
      JSON.stringify(predictionRow(predictionRecord(i, { modelName: "drift-same", requestId: `same-${i}`, status: "OK", features }))),
    );
    await store.engine.insertJsonLines("predictions", Buffer.from(`${lines.join("\n")}\n`));
    const drift = await featureDrift(store.engine, { model: "drift-same", window, features: FEATURES, profiles });
    for (const [, d] of perFeature(drift)) assert.equal(d.drifted, false, `${d.feature} PSI ${d.psi}`);
    const empty = await featureDrift(store.engine, { model: "nobody", window, features: FEATURES, profiles });
    for (const [, d] of perFeature(empty))
      assert.deepEqual([d.drifted, Number.isNaN(d.psi), d.chiSquare], [false, true, null], `${d.feature} in an empty window`);
  });
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type FeatureSpec,
  type MonitoredModel,
  calibrationSampleFromWindow,
  evaluateWindow,
  explainAccuracyChange,
  fitCalibration,
  parseSegment,
  profileFromValues,
  segmentRows,
} from "@vigil/monitor";
import type { Store } from "@vigil/store";
import { openTestStore } from "./support/recording.js";
import { FIXTURE_START_US, predictionRecord, tempDir } from "./support/store.js";

const REGIONS = ["north", "south", "east", "west"];
const INPUTS: FeatureSpec[] = [
  { name: "region", index: 0, kind: "categorical", categories: REGIONS },
  { name: "amount", index: 1, kind: "numerical" },
];
const CLASSES = ["no", "yes"];

interface Row {
  region: number;
  amount: number;
  client: string;
  correct: boolean;
}

/**
 * Labelled traffic of one window: regions in turn, amounts 0-99, two clients. Every region is
 * right 90% of the time, except that in the current window west is right 40% of the time: a
 * drop confined to one category.
 */
function windowRows(current: boolean): Row[] {
  return Array.from({ length: 2000 }, (_, i) => {
    const region = i % 4;
    const k = Math.floor(i / 4);
    const correct = current && region === 3 ? k % 10 < 4 : k % 10 !== 0;
    return { region, amount: (i * 7) % 100, client: i % 3 === 0 ? "batch-job" : "web", correct };
  });
}

const accuracy = (rows: Row[]) => rows.filter((r) => r.correct).length / rows.length;

describe("segments chosen when asked, and which categories explain a drop", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  const baselineWindow = { fromUs: FIXTURE_START_US, toUs: FIXTURE_START_US + 60e6 };
  const currentWindow = { fromUs: FIXTURE_START_US + 60e6, toUs: FIXTURE_START_US + 120e6 };
  const baseline = windowRows(false);
  const current = windowRows(true);
  const profiles = INPUTS.map((spec, j) =>
    profileFromValues(
      spec,
      baseline.map((r) => [r.region, r.amount][j]!),
    ),
  );
  const model: MonitoredModel = { name: "seg", version: "1", classes: CLASSES, features: INPUTS, profiles };

  before(async () => {
    dirs = await tempDir("vigil-segments-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") }, { maxBatchRows: 5000 });
    await store.ready();
    for (const [window, rows] of [
      [baselineWindow, baseline],
      [currentWindow, current],
    ] as const) {
      for (const [i, row] of rows.entries()) {
        const requestId = `seg-${window.fromUs}-${i}`;
        const truth = i % 2;
        const predicted = row.correct ? truth : 1 - truth;
        await store.predictions.append(
          predictionRecord(i, {
            modelName: "seg",
            requestId,
            timestampUs: window.fromUs + i * 1000,
            status: "OK",
            client: row.client,
            features: [row.region, row.amount],
            prediction: CLASSES[predicted]!,
            scores: predicted === 1 ? [0.2, 0.8] : [0.8, 0.2],
            confidence: 0.8,
          }),
        );
        await store.labels.append({
          requestId,
          rowIndex: 0,
          modelName: "seg",
          label: CLASSES[truth]!,
          timestampUs: window.fromUs + i * 1000 + 5e6,
          source: "test",
        });
      }
    }
    await store.predictions.flush();
    await store.labels.flush();
  });
  after(async () => {
    await store.close();
    await dirs.remove();
  });

  const accuracyOf = async (segment: string | undefined, window: typeof currentWindow) => {
    const rows = segment === undefined ? undefined : segmentRows(parseSegment(segment), INPUTS);
    const results = await evaluateWindow(store.engine, model, window, rows);
    const found = results.find((r) => r.metric === "accuracy" && r.feature === "");
    return { value: found?.value, rows: found?.details.rows, results };
  };

  test("quality of a category, a numeric range and a client: exactly the rows of that slice", async () => {
    const west = current.filter((r) => r.region === 3);
    assert.deepEqual(await accuracyOf("region=west", currentWindow).then((a) => [a.value, a.rows]), [accuracy(west), west.length]);
    const east = current.filter((r) => r.region === 2);
    assert.deepEqual(await accuracyOf("region=east", currentWindow).then((a) => [a.value, a.rows]), [accuracy(east), east.length]);
    const small = current.filter((r) => r.amount >= 10 && r.amount < 30);
    assert.deepEqual(await accuracyOf("amount=10..30", currentWindow).then((a) => [a.value, a.rows]), [accuracy(small), small.length]);
    const batch = current.filter((r) => r.client === "batch-job");
    assert.deepEqual(await accuracyOf("client=batch-job", currentWindow).then((a) => [a.value, a.rows]), [accuracy(batch), batch.length]);
    assert.deepEqual(await accuracyOf(undefined, currentWindow).then((a) => [a.value, a.rows]), [accuracy(current), current.length]);
  });

  test("drift, data quality and estimated performance of a segment count only its rows", async () => {
    model.calibration = fitCalibration(await calibrationSampleFromWindow(store.engine, { model: "seg", classes: CLASSES, window: baselineWindow }));
    const { results } = await accuracyOf("region=west", currentWindow);
    const estimated = results.find((r) => r.kind === "estimated" && r.metric === "accuracy");
    assert.equal(estimated?.details.rows, 500, "the estimate covers the segment's rows");
    const missing = results.find((r) => r.kind === "data_quality" && r.metric === "missing_share" && r.feature === "amount");
    assert.equal(missing?.details.rows, 500);
    const region = results.find((r) => r.kind === "drift" && r.feature === "region");
    assert.ok(region, "the segment's region mix is judged against the reference");
    assert.equal(region.breached, true, "a segment of one region is all west: far from the reference's even mix");
  });

  test("the planted drop is explained by region=west, and the terms of each input add up to the whole change", async () => {
    const change = await explainAccuracyChange(store.engine, {
      model: "seg",
      classes: CLASSES,
      inputs: INPUTS,
      baseline: baselineWindow,
      current: currentWindow,
    });
    assert.deepEqual([change.baseline.accuracy, change.current.accuracy], [accuracy(baseline), accuracy(current)]);
    const top = change.categories[0]!;
    assert.deepEqual([top.input, top.category], ["region", "west"]);
    const westShare = 500 / 2000;
    const westBefore = accuracy(baseline.filter((r) => r.region === 3));
    const westAfter = accuracy(current.filter((r) => r.region === 3));
    assert.ok(Math.abs(top.contribution - westShare * (westAfter - westBefore)) < 1e-12, `west's term ${top.contribution}`);
    assert.ok(Math.abs(top.performance - top.contribution) < 1e-12 && Math.abs(top.mix) < 1e-12, "west's mix did not change, its accuracy did");
    const delta = change.current.accuracy! - change.baseline.accuracy!;
    const regionTerms = change.categories.filter((c) => c.input === "region").reduce((a, c) => a + c.contribution, 0);
    assert.ok(Math.abs(regionTerms - delta) < 1e-12, `region's terms ${regionTerms} add up to the change ${delta}`);
    for (const c of change.categories.filter((c) => c.input === "region" && c.category !== "west"))
      assert.ok(Math.abs(c.contribution) < 1e-12, `${c.category} did not move`);
  });

  test("a segment that names no input, no category or a bad range says what would work", () => {
    assert.throws(() => segmentRows(parseSegment("colour=red"), INPUTS), /not a monitored input of this model \(inputs: region, amount; or client=id\)/);
    assert.throws(() => segmentRows(parseSegment("region=mars"), INPUTS), /no category "mars" \(4 categories, e\.g\. north, south, east, west\)/);
    assert.throws(() => segmentRows(parseSegment("amount=big"), INPUTS), /a numerical input takes a range/);
    assert.throws(() => parseSegment("amount=50..10"), /end must lie above its start/);
    assert.throws(() => parseSegment("amount"), /write input=category/);
  });
});

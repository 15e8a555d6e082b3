import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type FeatureSpec, type MonitorResult, evaluateWindow, profileFromValues, sampleMetric } from "@vigil/monitor";
import { type Store, saveMonitorResults } from "@vigil/store";
import { openTestStore } from "./support/recording.js";
import { FIXTURE_START_US, predictionRecord, tempDir } from "./support/store.js";

const SPECS: FeatureSpec[] = [
  { name: "amount", index: 0, kind: "numerical" },
  { name: "tier", index: 1, kind: "categorical", categories: ["bronze", "silver", "gold"] },
  { name: "age", index: 2, kind: "numerical" },
];

/** The reference: amounts in [0, 100], ages in [18, 90], and only bronze and silver customers (gold never appears). */
const reference = Array.from({ length: 500 }, (_, i) => [(i * 37) % 101, i % 2, 18 + (i % 73)]);
const profiles = SPECS.map((spec, j) =>
  profileFromValues(
    spec,
    reference.map((row) => row[j]!),
  ),
);

/**
 * 1,000 answered rows with a fault of each kind planted at known rows, and 40 refused requests:
 * amount missing in 30 rows (NaN) and out of range in 40, the row cut short after amount in 20
 * (tier and age missing there), gold (a category the reference lacks) in 15 rows and an unknown
 * code in 5, age out of range in 10.
 */
function plantedRows(): number[][] {
  return Array.from({ length: 1000 }, (_, i) => {
    const row = [(i * 13) % 101, i % 2, 20 + (i % 60)];
    if (i < 30) row[0] = Number.NaN;
    else if (i < 70) row[0] = i % 2 === 0 ? 250 : -1;
    if (i >= 100 && i < 120) return [row[0]!];
    if (i >= 200 && i < 215) row[1] = 2;
    if (i >= 215 && i < 220) row[1] = 9;
    if (i >= 300 && i < 310) row[2] = 120;
    return row;
  });
}

describe("data quality per input and window, in ClickHouse SQL", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  const window = { fromUs: FIXTURE_START_US, toUs: FIXTURE_START_US + 60e6 };
  let results: MonitorResult[];

  before(async () => {
    dirs = await tempDir("vigil-data-quality-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") }, { maxBatchRows: 5000 });
    await store.ready();
    for (const [i, features] of plantedRows().entries()) {
      await store.predictions.append(
        predictionRecord(i, { modelName: "dq", requestId: `dq-${i}`, timestampUs: window.fromUs + i * 1000, status: "OK", features }),
      );
    }
    for (let i = 0; i < 40; i++) {
      const status = i < 30 ? "INVALID_ARGUMENT" : "RESOURCE_EXHAUSTED";
      await store.predictions.append(
        predictionRecord(2000 + i, { modelName: "dq", requestId: `dq-refused-${i}`, timestampUs: window.fromUs + i * 1000, status, features: [] }),
      );
    }
    await store.predictions.flush();
    results = (await evaluateWindow(store.engine, { name: "dq", version: "1", features: SPECS, profiles }, window)).filter((r) => r.kind === "data_quality");
  });
  after(async () => {
    await store.close();
    await dirs.remove();
  });

  const figure = (metric: string, feature: string) => {
    const found = results.find((r) => r.metric === metric && r.feature === feature);
    assert.ok(found, `a ${metric} result for "${feature}"`);
    return found;
  };

  test("missing values: NaN and rows too short, per input", () => {
    assert.deepEqual([figure("missing_share", "amount").details.count, figure("missing_share", "amount").value], [30, 30 / 1000]);
    assert.deepEqual([figure("missing_share", "tier").details.count, figure("missing_share", "age").details.count], [20, 20]);
    assert.equal(figure("missing_share", "amount").details.rows, 1000, "over the window's answered rows");
  });

  test("values outside the reference's range, numerical inputs only", () => {
    assert.equal(figure("out_of_range_share", "amount").details.count, 40);
    assert.equal(figure("out_of_range_share", "age").details.count, 10);
    assert.equal(
      results.find((r) => r.metric === "out_of_range_share" && r.feature === "tier"),
      undefined,
    );
  });

  test("categories the reference never had: a known but unseen class and an unknown code", () => {
    assert.deepEqual([figure("unseen_category_share", "tier").details.count, figure("unseen_category_share", "tier").value], [20, 20 / 1000]);
  });

  test("refused requests, in all and by reason", () => {
    const refused = figure("refused_share", "");
    assert.deepEqual([refused.details.count, refused.details.rows, refused.details.by_reason], [40, 1040, { INVALID_ARGUMENT: 30, RESOURCE_EXHAUSTED: 10 }]);
    assert.equal(figure("refused_share_by_reason", "INVALID_ARGUMENT").value, 30 / 1040);
    assert.equal(figure("refused_share_by_reason", "RESOURCE_EXHAUSTED").value, 10 / 1040);
  });

  test("stored, the figures are what alert rules read as data_quality.<metric>", async () => {
    await saveMonitorResults(store.engine, results);
    const samples = await sampleMetric(store.engine, "data_quality.unseen_category_share", { model: "dq" }, window.toUs / 1000 + 1000, 10 * 60_000);
    assert.deepEqual(
      samples.map((s) => [s.labels.feature, s.value]),
      [["tier", 20 / 1000]],
    );
  });
});

/**
 * Monitor benchmark: classification quality and drift of five features for one model over
 * 1M and 10M predictions on the embedded engine, against pulling the same rows into JS and
 * computing the same figures there (same run). Rows are generated inside ClickHouse.
 *
 *   node --import tsx bench/monitor.ts [--rows 1000000,10000000]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedEngine, type StoreEngine, migrate } from "@vigil/store";
import { rocAuc } from "@vigil/demo-model";
import {
  type FeatureProfile,
  type MonitoredModel,
  type ReferenceCalibration,
  applyCalibrator,
  binOf,
  calibrationSampleFromWindow,
  classificationQuality,
  estimatePerformance,
  fitCalibration,
  evaluateWindow,
  featureDrift,
  fitReconstruction,
  populationStabilityIndex,
} from "@vigil/monitor";
import { flag } from "./args.js";
import { CLASSES, FEATURES, generate, referenceColumns, referenceProfiles, startUs } from "./synthetic.js";
import { machineLine } from "./machine.js";
import { writeBenchmarkSection } from "./report.js";

const sizes = (flag("rows") ?? "1000000,10000000").split(",").map(Number);
/** The baseline: every row pulled into JS, then accuracy, ROC AUC and per-feature PSI computed there. */
async function inJs(engine: StoreEngine, model: string, window: { fromUs: number; toUs: number }, profiles: FeatureProfile[]) {
  const scores: number[] = [];
  const truth: boolean[] = [];
  const columns: number[][] = FEATURES.map(() => []);
  let correct = 0;
  for await (const rows of engine.stream<{ f: number[]; s: number; p: string; l: string }>(
    `SELECT p.features AS f, p.scores[2] AS s, p.prediction AS p, l.label AS l FROM predictions AS p
     INNER JOIN (SELECT request_id, argMax(label, timestamp) AS label FROM labels WHERE model_name = {model:String} GROUP BY request_id) AS l ON p.request_id = l.request_id
     WHERE p.model_name = {model:String} AND p.timestamp >= fromUnixTimestamp64Micro({from:Int64}, 'UTC') AND p.timestamp < fromUnixTimestamp64Micro({to:Int64}, 'UTC')`,
    { model, from: window.fromUs, to: window.toUs },
  )) {
    for (const r of rows) {
      scores.push(r.s);
      truth.push(r.l === "delayed");
      if (r.p === r.l) correct++;
      for (const [i, v] of r.f.entries()) columns[i]!.push(v);
    }
  }
  const auc = rocAuc(scores, truth);
  const psi = profiles.map((profile, i) => {
    const counts = new Array<number>(profile.kind === "numerical" ? profile.binEdges.length + 1 : profile.categories.length).fill(0);
    for (const v of columns[i]!) counts[profile.kind === "numerical" ? binOf(profile.binEdges, v) : v]!++;
    return populationStabilityIndex(profile.kind === "numerical" ? profile.binCounts : profile.counts, counts);
  });
  return { rows: scores.length, accuracy: correct / scores.length, auc, psi };
}

/**
 * The CBPE baseline: every row's scores and prediction pulled into JS, each score calibrated
 * there, the expected confusion summed, and ROC AUC walked over the rows sorted by score, as
 * the SQL estimate does (binary: the positive class's score).
 */
async function cbpeInJs(engine: StoreEngine, model: string, window: { fromUs: number; toUs: number }, calibration: ReferenceCalibration) {
  const calibrator = calibration.calibrators[0]!;
  const scores: number[] = [];
  const positive: number[] = [];
  let expectedCorrect = 0;
  for await (const rows of engine.stream<{ s: number; p: string }>(
    `SELECT toFloat64(scores[2]) AS s, prediction AS p FROM predictions
     WHERE model_name = {model:String} AND timestamp >= fromUnixTimestamp64Micro({from:Int64}, 'UTC') AND timestamp < fromUnixTimestamp64Micro({to:Int64}, 'UTC')`,
    { model, from: window.fromUs, to: window.toUs },
  )) {
    for (const r of rows) {
      const q = applyCalibrator(calibrator, r.s);
      scores.push(r.s);
      positive.push(q);
      expectedCorrect += r.p === CLASSES[1] ? q : 1 - q;
    }
  }
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let tp = 0;
  let fp = 0;
  let area = 0;
  for (let k = 0; k < order.length; ) {
    let groupTp = 0;
    let groupFp = 0;
    const s = scores[order[k]!]!;
    for (; k < order.length && scores[order[k]!] === s; k++) {
      groupTp += positive[order[k]!]!;
      groupFp += 1 - positive[order[k]!]!;
    }
    area += groupFp * (2 * tp + groupTp);
    tp += groupTp;
    fp += groupFp;
  }
  return { rows: scores.length, accuracy: expectedCorrect / scores.length, rocAuc: area / (2 * tp * fp) };
}

const dir = await mkdtemp(join(tmpdir(), "vigil-bench-monitor-"));
const engine = new EmbeddedEngine(join(dir, "data"));
try {
  await migrate(engine);
  const lines: string[] = [];
  for (const n of sizes) {
    const model = `bench-${n}`;
    const generated = performance.now();
    const start = startUs(n);
    await generate(engine, model, n, start);
    const generateS = (performance.now() - generated) / 1000;
    const window = { fromUs: start, toUs: start + n * 1000 };
    const profiles = referenceProfiles();
    // The calibration's labelled reference: the window's first 100,000 rows.
    const calibration = fitCalibration(
      await calibrationSampleFromWindow(engine, { model, version: "1", classes: CLASSES, window: { fromUs: start, toUs: start + 100_000 * 1000 } }),
    );
    const monitored: MonitoredModel = {
      name: model,
      version: "1",
      classes: CLASSES,
      features: FEATURES,
      profiles,
      reconstruction: fitReconstruction(FEATURES, referenceColumns()),
      calibration,
    };
    /** Everything the monitor computes for one window: quality, estimated performance, drift, data quality, multivariate drift. */
    const wholePass = () => evaluateWindow(engine, monitored, window);
    const inSql = async () => ({
      quality: await classificationQuality(engine, { model, classes: CLASSES, window }),
      drift: await featureDrift(engine, { model, window, features: FEATURES, profiles }),
    });
    // A first run of each before the timed ones: the first query over new parts pays for loading
    // them. The SQL one is timed too, to show that cost.
    const cold = performance.now();
    await inSql();
    const coldS = (performance.now() - cold) / 1000;
    await inJs(engine, model, window, profiles);
    const t0 = performance.now();
    const { quality, drift } = await inSql();
    const sqlS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const js = await inJs(engine, model, window, profiles);
    const jsS = (performance.now() - t1) / 1000;
    await wholePass();
    const t2 = performance.now();
    const results = await wholePass();
    const wholeS = (performance.now() - t2) / 1000;
    const kinds = [...new Set(results.map((r) => r.kind))].sort().join(", ");
    const cbpe = () => estimatePerformance(engine, { model, version: "1", window, calibration });
    await cbpe();
    const t3 = performance.now();
    const estimate = await cbpe();
    const cbpeS = (performance.now() - t3) / 1000;
    await cbpeInJs(engine, model, window, calibration);
    const t4 = performance.now();
    const cbpeJs = await cbpeInJs(engine, model, window, calibration);
    const cbpeJsS = (performance.now() - t4) / 1000;
    if (
      cbpeJs.rows !== estimate.rows ||
      Math.abs(cbpeJs.accuracy - estimate.accuracy.value) > 1e-9 ||
      Math.abs(cbpeJs.rocAuc - estimate.rocAuc!.value) > 1e-4
    ) {
      throw new Error(
        `CBPE in JS and SQL disagree: ${JSON.stringify({ js: cbpeJs, sql: { rows: estimate.rows, accuracy: estimate.accuracy.value, rocAuc: estimate.rocAuc?.value } })}`,
      );
    }
    if (quality.rows !== n || js.rows !== n || Math.abs(js.accuracy - quality.accuracy!) > 1e-12 || Math.abs(js.auc - quality.rocAuc!) > 1e-9) {
      throw new Error(`JS and SQL disagree: ${JSON.stringify({ js, sql: { rows: quality.rows, accuracy: quality.accuracy, auc: quality.rocAuc } })}`);
    }
    if (drift.length !== js.psi.length) throw new Error(`SQL gave drift for ${drift.length} features, JS for ${js.psi.length}`);
    for (const [i, psi] of js.psi.entries()) {
      if (Math.abs(drift[i]!.psi - psi) > 1e-9) throw new Error(`PSI of ${drift[i]!.feature}: SQL ${drift[i]!.psi}, JS ${psi}`);
    }
    lines.push(
      `| ${n.toLocaleString("en")} | ${generateS.toFixed(1)} | ${coldS.toFixed(2)} | ${sqlS.toFixed(2)} | ${jsS.toFixed(2)} | ${(jsS / sqlS).toFixed(1)}x | ${wholeS.toFixed(2)} (${results.length} results: ${kinds}) | ${cbpeS.toFixed(2)} | ${cbpeJsS.toFixed(2)} | ${(cbpeJsS / cbpeS).toFixed(1)}x |`,
    );
    console.log(lines.at(-1));
  }
  const table = [
    "| predictions (labelled) | generate in ClickHouse (s) | quality + drift in ClickHouse, first run (s) | quality + drift in ClickHouse, warm (s) | pull rows into JS and compute, warm (s) | speed-up, warm | whole monitor pass, warm (s) | CBPE estimate in ClickHouse, warm (s) | CBPE with rows pulled into JS, warm (s) | CBPE speed-up |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...lines,
  ].join("\n");
  await writeBenchmarkSection(
    join(import.meta.dirname, "..", "docs", "benchmarks.md"),
    "Monitor: quality and drift",
    `Command: \`node --import tsx bench/monitor.ts --rows ${sizes.join(",")}\` (embedded chDB; part of \`npm run bench\`).\n\n${machineLine()}; ${new Date().toISOString().slice(0, 10)}.\n\n${table}\n\n` +
      "ClickHouse computes the full classification quality (confusion, per-class figures, exact ROC AUC, log loss, Brier, calibration, label coverage) and all drift statistics of 5 features (PSI, Jensen-Shannon, chi-square; Kolmogorov-Smirnov and Wasserstein-1 for the numerical one) against a 100k-row reference profile. " +
      "The whole monitor pass is what the monitor job runs for one window (`evaluateWindow`): realized quality, CBPE's estimated performance and its error against the realized figures, per-input drift, data quality and multivariate (reconstruction-error) drift. " +
      "CBPE's calibration is fitted on the window's first 100,000 labelled rows; its JS baseline pulls each row's score and prediction, calibrates it in JS and computes the same estimate (accuracy and ROC AUC checked against the SQL one). " +
      "Both are timed warm, after a first run of each; the first SQL run, over freshly written parts, is timed in its own column. The JS baseline streams the same joined rows out and computes only accuracy, ROC AUC and per-feature PSI (a subset), and the script checks both agree. Rows are synthetic (seeded hashes), one label per prediction.\n",
  );
} finally {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
}

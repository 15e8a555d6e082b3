/**
 * Monitor API benchmark: latency of the routes the Overview and Drift pages read, with 10M
 * predictions in the embedded store, over real HTTP on 127.0.0.1. Baselines in the same run:
 * the Overview's figures computed from the raw prediction rows instead of the per-minute rollups,
 * and the Drift page's series computed live from the rows instead of read from monitor_results.
 *
 *   node --import tsx bench/api.ts [--rows 10000000] [--requests 30]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedEngine, migrate } from "@vigil/store";
import { type MonitoredModel, MonitorJob, featureDrift, startMonitorApi, windows } from "@vigil/monitor";
import { startDashboard } from "@vigil/cli";
import { chromium } from "playwright-core";
import { flag } from "./args.js";
import { machineLine } from "./machine.js";
import { writeBenchmarkSection } from "./report.js";
import { CLASSES, FEATURES, generate, referenceProfiles, startUs } from "./synthetic.js";

const rows = Number(flag("rows") ?? 10_000_000);
const requests = Number(flag("requests") ?? 30);
const TOKEN = "bench";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** p50 and p95 of `requests` sequential runs after 3 untimed ones. */
async function timed(run: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < 3; i++) await run();
  const ms: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 0.5), p95: percentile(ms, 0.95) };
}

const dir = await mkdtemp(join(tmpdir(), "vigil-bench-api-"));
const engine = new EmbeddedEngine(join(dir, "data"));
try {
  await migrate(engine);
  const model = "bench-api";
  const start = startUs(rows);
  const end = start + rows * 1000;
  const generated = performance.now();
  await generate(engine, model, rows, start);
  console.log(`generated ${rows.toLocaleString("en")} predictions in ${((performance.now() - generated) / 1000).toFixed(1)} s`);

  const profiles = referenceProfiles();
  const monitored: MonitoredModel = { name: model, version: "1", classes: CLASSES, features: FEATURES, profiles };
  const job = new MonitorJob(engine, () => [monitored], { windowMs: 900_000, everyMs: 900_000 });
  const quarters = windows(Math.floor(start / 900e6) * 900e6, end + 900e6, 900e6);
  const evaluated = performance.now();
  for (const w of quarters) await job.runOnce(w);
  console.log(`monitor: ${quarters.length} fifteen-minute windows in ${((performance.now() - evaluated) / 1000).toFixed(1)} s`);

  const api = await startMonitorApi({
    engine,
    host: "127.0.0.1",
    port: 0,
    tokens: [TOKEN],
    models: async () => ({ ...monitored, inputs: FEATURES }),
    repository: async () => [{ name: model, versions: [{ version: "1", referenceFile: false }], classes: CLASSES, inputs: FEATURES }],
    slos: [],
  });
  const range = `from=${encodeURIComponent(new Date(start / 1000 - 60_000).toISOString())}&to=${encodeURIComponent(new Date(end / 1000 + 60_000).toISOString())}`;
  const call = (path: string) => async () => {
    const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
    return response.json();
  };
  const rawOverview = () =>
    engine.query(
      `SELECT toStartOfInterval(timestamp, INTERVAL 2 MINUTE) AS t, count() AS requests, countIf(status != 'OK') AS errors, quantilesTDigest(0.5, 0.95, 0.99)(latency_us) AS q
       FROM predictions WHERE model_name = {model:String} AND timestamp >= fromUnixTimestamp64Micro({from:Int64}, 'UTC') AND timestamp < fromUnixTimestamp64Micro({to:Int64}, 'UTC')
       GROUP BY t ORDER BY t`,
      { model, from: start, to: end },
    );
  const liveDrift = () => featureDrift(engine, { model, window: { fromUs: start, toUs: end }, features: FEATURES, profiles });

  const results: Array<[string, { p50: number; p95: number }, string]> = [];
  const measure = async (name: string, run: () => Promise<unknown>, note = "") => {
    results.push([name, await timed(run), note]);
    console.log(`${name}: p50 ${results.at(-1)![1].p50.toFixed(1)} ms, p95 ${results.at(-1)![1].p95.toFixed(1)} ms`);
  };
  await measure("Overview: GET /api/v1/overview (rollups)", call(`/api/v1/overview?${range}&model=${model}`));
  await measure("baseline: the same series from raw rows", rawOverview, "per 2-minute step");
  await measure("Drift: GET /api/v1/models/{m}/drift (stored windows)", call(`/api/v1/models/${model}/drift?${range}`));
  await measure("Drift: GET /api/v1/models/{m}/histograms (live, whole range)", call(`/api/v1/models/${model}/histograms?${range}&version=1`));
  await measure("baseline: drift over the range computed from the rows", liveDrift);
  await measure("Predictions: GET /api/v1/predictions (first page of 50)", call(`/api/v1/predictions?${range}&model=${model}`));

  // First load of two dashboard pages in Chromium: a fresh browser context (empty cache) per load, logged in, until the network is idle.
  const dashboard = await startDashboard({ apiUrl: api.url, apiToken: TOKEN, port: 3900, host: "127.0.0.1" });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking"],
  });
  const firstLoads: Array<[string, number[]]> = [];
  try {
    // Done when the page's last chart has drawn: the latency chart, or the last input's histogram.
    for (const [name, path, done] of [
      ["Overview", "/?range=6h", "[data-chart='Latency'] svg"],
      ["Drift", `/models/${model}/drift?range=6h`, "[data-chart^='destination'] svg"],
    ] as const) {
      const loads: number[] = [];
      for (let i = 0; i < 6; i++) {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${dashboard.url}/login`);
        await page.fill("input[name=password]", dashboard.password);
        await Promise.all([page.waitForURL(`${dashboard.url}/`), page.click("button[type=submit]")]);
        const t = performance.now();
        await page.goto(`${dashboard.url}${path}`, { waitUntil: "load" });
        await page.waitForSelector(done);
        if (i > 0) loads.push(performance.now() - t);
        await context.close();
      }
      loads.sort((a, b) => a - b);
      firstLoads.push([name, loads]);
      console.log(`${name} page first load: median ${loads[Math.floor(loads.length / 2)]!.toFixed(0)} ms, max ${loads.at(-1)!.toFixed(0)} ms`);
    }
  } finally {
    await browser.close();
    await dashboard.stop();
  }
  await api.close();

  const ratio = (a: number, b: number) => `${(b / a).toFixed(1)}x`;
  const [overview, raw, drift, , live] = results;
  const table = [
    "| route | p50 (ms) | p95 (ms) | against its baseline (p95) |",
    "|---|---:|---:|---:|",
    ...results.map(([name, t, note], i) => {
      const versus = i === 0 ? ratio(overview![1].p95, raw![1].p95) : i === 2 ? ratio(drift![1].p95, live![1].p95) : "";
      return `| ${name}${note ? ` (${note})` : ""} | ${t.p50.toFixed(1)} | ${t.p95.toFixed(1)} | ${versus ? `${versus} faster` : ""} |`;
    }),
  ].join("\n");
  const pages = [
    "| dashboard page (first load, fresh browser context, until its last chart is drawn) | median (ms) | max of 5 (ms) |",
    "|---|---:|---:|",
    ...firstLoads.map(([name, loads]) => `| ${name} | ${loads[Math.floor(loads.length / 2)]!.toFixed(0)} | ${loads.at(-1)!.toFixed(0)} |`),
  ].join("\n");
  await writeBenchmarkSection(
    join(import.meta.dirname, "..", "docs", "benchmarks.md"),
    "Monitor API with 10M predictions",
    `Command: \`node --import tsx bench/api.ts --rows ${rows}\` (embedded chDB, ${rows.toLocaleString("en")} predictions over ${((end - start) / 3.6e9).toFixed(1)} hours, ${requests} sequential requests per route after 3 untimed, real HTTP on 127.0.0.1).\n\n${machineLine()}; ${new Date().toISOString().slice(0, 10)}.\n\n${table}\n\n${pages}\n\n` +
      "The Overview reads the per-minute rollups (requests_per_minute, predictions_per_minute), so its cost follows minutes, not rows; the baseline computes the same series from the raw rows. The Drift page's series come from monitor_results (written by the monitor job, here for fifteen-minute windows); the baseline computes drift over the range from the rows. The histograms route computes the whole range's reference-vs-current counts live, which is most of the Drift page's first load. Page loads: the production build (`next start`) in Debian's Chromium, after one untimed load, each in a new browser context (empty cache) after logging in, timed from navigation until the page's last chart has drawn.\n",
  );
} finally {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
}

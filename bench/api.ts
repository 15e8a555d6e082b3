/**
 * Monitor API and dashboard benchmark at 10M predictions (or --rows) in the embedded store: the
 * p50/p95 of every GET route of the API over real HTTP on 127.0.0.1, and every dashboard page's
 * time to network idle in Chromium (production build, cold cache, median of --visits). Baselines
 * in the same run: the Overview's figures computed from the raw prediction rows instead of the
 * per-minute rollups, and the Drift page's series computed live from the rows instead of read
 * from monitor_results.
 *
 *   node --import tsx bench/api.ts [--rows 10000000] [--requests 30] [--visits 5]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedEngine, migrate } from "@vigil/store";
import { type MonitoredModel, MonitorJob, featureDrift, parseSlo, startMonitorApi, windows } from "@vigil/monitor";
import { startDashboard } from "@vigil/cli";
import { chromium } from "playwright-core";
import { flag } from "./args.js";
import { machineLine } from "./machine.js";
import { writeBenchmarkSection } from "./report.js";
import { CLASSES, FEATURES, generate, referenceProfiles, startUs } from "./synthetic.js";

const rows = Number(flag("rows") ?? 10_000_000);
const requests = Number(flag("requests") ?? 30);
const visits = Number(flag("visits") ?? 5);
const TOKEN = "bench";
/** A route whose first answer is slow is timed fewer times (at least 5), so one slow route does not take the run's whole time. */
const ROUTE_BUDGET_MS = 20_000;
/** The targets, shown beside each figure. */
const ROUTE_TARGET_MS = 300;
const PAGE_TARGET_MS = 1000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

interface Timing {
  p50: number;
  p95: number;
  n: number;
}

/** p50 and p95 of sequential runs after one untimed run: `requests` of them, fewer for a slow route. */
async function timed(run: () => Promise<unknown>): Promise<Timing> {
  const warm = performance.now();
  await run();
  const n = Math.max(5, Math.min(requests, Math.floor(ROUTE_BUDGET_MS / Math.max(1, performance.now() - warm))));
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 0.5), p95: percentile(ms, 0.95), n };
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
    slos: [parseSlo({ name: "bench-availability", model, indicator: "availability", objective: 0.99, window: "1d" })],
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

  const iso = (us: number) => encodeURIComponent(new Date(us / 1000).toISOString());
  const middle = Math.round((start + end) / 2);
  const requestId = `${model}-${Math.floor(rows / 2)}`;
  // One request per GET route in the OpenAPI document, by its template; a route added later and not listed here stops the bench.
  const ROUTES: Record<string, string> = {
    "/api/v1/health": "/api/v1/health",
    "/api/v1/overview": `/api/v1/overview?${range}&model=${model}`,
    "/api/v1/models": "/api/v1/models",
    "/api/v1/models/{model}/quality": `/api/v1/models/${model}/quality?${range}`,
    "/api/v1/models/{model}/drift": `/api/v1/models/${model}/drift?${range}`,
    "/api/v1/models/{model}/data-quality": `/api/v1/models/${model}/data-quality?${range}`,
    "/api/v1/models/{model}/estimated": `/api/v1/models/${model}/estimated?${range}`,
    "/api/v1/models/{model}/confusion": `/api/v1/models/${model}/confusion?${range}`,
    "/api/v1/models/{model}/confusion/windows": `/api/v1/models/${model}/confusion/windows?${range}`,
    "/api/v1/models/{model}/report": `/api/v1/models/${model}/report?${range}&version=1&kind=quality`,
    "/api/v1/models/{model}/explain": `/api/v1/models/${model}/explain?from=${iso(middle)}&to=${iso(end)}&baselineFrom=${iso(start)}&baselineTo=${iso(middle)}`,
    "/api/v1/models/{model}/histograms": `/api/v1/models/${model}/histograms?${range}&version=1`,
    "/api/v1/slos": "/api/v1/slos",
    "/api/v1/slos/{slo}/burn": `/api/v1/slos/bench-availability/burn?${range}`,
    "/api/v1/alerts": "/api/v1/alerts",
    "/api/v1/alerts/history": `/api/v1/alerts/history?${range}`,
    "/api/v1/silences": "/api/v1/silences",
    "/api/v1/traces": `/api/v1/traces?${range}&model=${model}`,
    "/api/v1/predictions": `/api/v1/predictions?${range}&model=${model}`,
    "/api/v1/predictions/{requestId}/{row}": `/api/v1/predictions/${requestId}/0`,
  };
  const NOT_TIMED: Record<string, string> = { "/api/v1/traces/{traceId}": "the synthetic rows have no spans" };
  const openapi = (await call("/api/openapi.json")()) as { paths: Record<string, Record<string, unknown>> };
  const gets = Object.entries(openapi.paths)
    .filter(([, operations]) => "get" in operations)
    .map(([path]) => path.replace(/:(\w+)/g, "{$1}"));
  const unlisted = gets.filter((path) => !(path in ROUTES) && !(path in NOT_TIMED));
  if (unlisted.length > 0) throw new Error(`bench/api.ts has no request for ${unlisted.join(", ")}: add one to ROUTES`);

  const routeTimings: Array<[string, Timing]> = [];
  for (const [template, path] of Object.entries(ROUTES)) {
    routeTimings.push([template, await timed(call(path))]);
    const t = routeTimings.at(-1)![1];
    console.log(`${template}: p50 ${t.p50.toFixed(1)} ms, p95 ${t.p95.toFixed(1)} ms (${t.n} requests)`);
  }
  const rawTiming = await timed(rawOverview);
  const liveTiming = await timed(liveDrift);
  console.log(`baselines: raw overview p95 ${rawTiming.p95.toFixed(1)} ms, live drift p95 ${liveTiming.p95.toFixed(1)} ms`);

  // Every page, each visit in a new browser context (empty cache) holding a session, until the network is idle.
  const dashboard = await startDashboard({ apiUrl: api.url, apiToken: TOKEN, port: 3900, host: "127.0.0.1" });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking"],
  });
  const pageTimings: Array<[string, number[]]> = [];
  try {
    const login = await browser.newContext();
    const loginPage = await login.newPage();
    await loginPage.goto(`${dashboard.url}/login`);
    await loginPage.fill("input[name=password]", dashboard.password);
    await Promise.all([loginPage.waitForURL(`${dashboard.url}/`), loginPage.click("button[type=submit]")]);
    const session = await login.storageState();
    await login.close();
    const PAGES = [
      ["Overview", "/?range=6h"],
      ["Models", "/models?range=6h"],
      ["Model", `/models/${model}?range=6h`],
      ["Drift", `/models/${model}/drift?range=6h`],
      ["SLOs", "/slos?range=6h"],
      ["Alerts", "/alerts?range=6h"],
      ["Traces", "/traces?range=6h"],
      ["Predictions", "/predictions?range=6h"],
      ["Prediction", `/predictions/${requestId}/0?range=6h`],
    ] as const;
    for (const [name, path] of PAGES) {
      const loads: number[] = [];
      for (let i = 0; i <= visits; i++) {
        const context = await browser.newContext({ storageState: session });
        const page = await context.newPage();
        const response = await page.goto(`${dashboard.url}${path}`, { waitUntil: "networkidle" });
        if (response?.status() !== 200) throw new Error(`${path}: HTTP ${response?.status()}`);
        // Playwright reports idle after 500 quiet ms; the page's own clock says when its last response ended.
        const idleMs = await page.evaluate<number>(
          `Math.max(performance.getEntriesByType("navigation")[0].loadEventEnd, ...performance.getEntriesByType("resource").map((r) => r.responseEnd))`,
        );
        if (i > 0) loads.push(idleMs);
        await context.close();
      }
      loads.sort((a, b) => a - b);
      pageTimings.push([name, loads]);
      console.log(`${name} (${path}): median ${loads[Math.floor(loads.length / 2)]!.toFixed(0)} ms, max ${loads.at(-1)!.toFixed(0)} ms`);
    }
  } finally {
    await browser.close();
    await dashboard.stop();
  }
  await api.close();

  const mark = (ms: number, target: number) => (ms < target ? "yes" : "**no**");
  const median = (sorted: number[]) => sorted[Math.floor(sorted.length / 2)]!;
  const routeTable = [
    `| route (GET) | requests timed | p50 (ms) | p95 (ms) | p95 under ${ROUTE_TARGET_MS} ms |`,
    "|---|---:|---:|---:|:---:|",
    ...routeTimings.map(([template, t]) => `| \`${template}\` | ${t.n} | ${t.p50.toFixed(1)} | ${t.p95.toFixed(1)} | ${mark(t.p95, ROUTE_TARGET_MS)} |`),
    ...Object.entries(NOT_TIMED).map(([template, why]) => `| \`${template}\` | not timed: ${why} | | | |`),
  ].join("\n");
  const overviewP95 = routeTimings.find(([t]) => t === "/api/v1/overview")![1].p95;
  const driftP95 = routeTimings.find(([t]) => t === "/api/v1/models/{model}/drift")![1].p95;
  const baselineTable = [
    "| baseline (same figures, computed from the rows) | p50 (ms) | p95 (ms) | the route's p95 is |",
    "|---|---:|---:|---:|",
    `| Overview series from raw rows (per 2-minute step) | ${rawTiming.p50.toFixed(1)} | ${rawTiming.p95.toFixed(1)} | ${(rawTiming.p95 / overviewP95).toFixed(1)}x faster |`,
    `| drift over the range from the rows | ${liveTiming.p50.toFixed(1)} | ${liveTiming.p95.toFixed(1)} | ${(liveTiming.p95 / driftP95).toFixed(1)}x faster |`,
  ].join("\n");
  const pageTable = [
    `| dashboard page (cold cache, until the network is idle) | median of ${visits} (ms) | max (ms) | median under ${PAGE_TARGET_MS} ms |`,
    "|---|---:|---:|:---:|",
    ...pageTimings.map(([name, loads]) => `| ${name} | ${median(loads).toFixed(0)} | ${loads.at(-1)!.toFixed(0)} | ${mark(median(loads), PAGE_TARGET_MS)} |`),
  ].join("\n");
  await writeBenchmarkSection(
    join(import.meta.dirname, "..", "docs", "benchmarks.md"),
    "Monitor API and dashboard pages",
    `Command: \`node --import tsx bench/api.ts --rows ${rows}\` (embedded chDB, ${rows.toLocaleString("en")} predictions over ${((end - start) / 3.6e9).toFixed(1)} hours, monitor windows of 15 minutes; real HTTP on 127.0.0.1; up to ${requests} sequential requests per route after one untimed, fewer (at least 5) for a slow route, about ${ROUTE_BUDGET_MS / 1000} s of requests each).\n\n${machineLine()}; ${new Date().toISOString().slice(0, 10)}.\n\n${routeTable}\n\n${baselineTable}\n\n${pageTable}\n\n` +
      "The Overview reads the per-minute rollups (requests_per_minute, predictions_per_minute), so its cost follows minutes, not rows. The quality, drift, data-quality, estimated and confusion/windows routes read the monitor's stored windows (monitor_results), as does histograms for a range that is exactly one window (the Drift page's request); confusion, report, explain and histograms over any other range compute their figures from the rows when asked. Pages: the production build (`next start`) in Debian's Chromium, `range=6h` (all the data), each visit in a new browser context with a session and an empty cache, after one untimed visit; the time is from navigation start to the end of the page's last response (the load event or the last fetch, whichever is later), as the page's Performance timeline records it. The Trace page is not timed: the synthetic rows have no spans.\n",
  );
} finally {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
}

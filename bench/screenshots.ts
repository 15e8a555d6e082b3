/**
 * Screenshots of the dashboard for the README and docs/, taken from the real thing: the demo model
 * served into an embedded store, a few minutes of demo traffic with drift planted half way, the
 * monitor over one-minute windows, an alert rule evaluated, the monitor API, the production build
 * under `next start`, and Debian's Chromium. Writes docs/images/<page>.png (1440x900, and the
 * Overview at 390x844 as overview-phone.png). The Rollout page comes from a second stack of its
 * own: a canary trained on shuffled delays beside the demo model, judged worse and rolled back.
 *
 *   pnpm build && node --import tsx bench/screenshots.ts [--minutes 4]
 */
import { join } from "node:path";
import { parseShift, runLoadgen, startMonitoring } from "@vigil/cli";
import { AlertEvaluator, MonitorJob, loadMonitorConfig, parseAlertingConfig, readCatalog, windows } from "@vigil/monitor";
import { listRolloutEvents } from "@vigil/store";
import type { Browser } from "playwright-core";
import { launchChromium, logIn } from "../test/support/browser.js";
import { startDashboardProcess } from "../test/support/dashboard.js";
import { demoTraffic, flightsTraffic } from "../test/support/demo-traffic.js";
import { addDemoModel, tempRepository } from "../test/support/models.js";
import { openTestStore } from "../test/support/recording.js";
import { addShuffledLabelVersion, setRollout } from "../test/support/rollout.js";
import { startTestServer } from "../test/support/server.js";
import { eventually, quietLog, tempDir } from "../test/support/store.js";
import { flag } from "./args.js";

const ROOT = join(import.meta.dirname, "..");
const IMAGES = join(ROOT, "docs", "images");
const minutes = Number(flag("minutes") ?? 4);
const PASSWORD = "screenshots password";
const TOKEN = "screenshots";
const MINUTE_MS = 60_000;

/** The Rollout page of a canary the monitor judged worse and rolled back (the stack of test/dashboard-rollout.int.test.ts). */
async function shootRollout(browser: Browser): Promise<void> {
  const dirs = await tempDir("vigil-screenshots-rollout-");
  const repo = await tempRepository();
  await addDemoModel(repo.path);
  await addShuffledLabelVersion(repo.path, 2);
  await setRollout(repo.path, { mode: "canary", candidate: 2, primary: 1, canary_weight: 0.3 });
  const store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
  await store.ready();
  const server = await startTestServer({ model_repository: repo.path, log_level: "warn", rollout_poll_secs: 1 }, store);
  const monitoring = startMonitoring(
    store.engine,
    () => readCatalog(repo.path, (e) => console.warn(e.message)),
    { monitor: loadMonitorConfig({ overrides: { window: "10s", lag: "0s" } }), api: { host: "127.0.0.1", port: 0, tokens: [TOKEN] } },
    { log: quietLog },
  );
  try {
    await monitoring.started;
    console.log("rollout: a canary trained on shuffled delays, until the monitor rolls it back");
    await flightsTraffic(server.address, 4000, { rate: 100, idPrefix: "rollout-" });
    await Promise.all([store.predictions.flush(), store.labels.flush()]);
    await eventually(
      async () => (await listRolloutEvents(store.engine, { model: "flights" })).some((e) => e.action === "rolled_back"),
      Boolean,
      "the monitor to roll the canary back",
      120_000,
    );
    await flightsTraffic(server.address, 500, { rate: 100, idPrefix: "after-" });
    await Promise.all([store.predictions.flush(), store.labels.flush()]);
    const api = (await monitoring.api)!;
    const dashboard = await startDashboardProcess({ apiUrl: api.url, apiToken: TOKEN, password: PASSWORD });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await logIn(page, dashboard.url, PASSWORD);
      await page.goto(`${dashboard.url}/models/flights/rollout`, { waitUntil: "networkidle" });
      await page.screenshot({ path: join(IMAGES, "rollout.png") });
      console.log("docs/images/rollout.png: /models/flights/rollout");
    } finally {
      await dashboard.stop();
    }
  } finally {
    await monitoring.stop();
    await server.stop();
    await store.close();
    await repo.remove();
    await dirs.remove();
  }
}

const traffic = await demoTraffic(200);
const browser = await launchChromium();
try {
  try {
    console.log(`demo traffic for ${minutes} minutes, drift (distance*1.5, hour+6) from half way`);
    const rate = 20;
    await runLoadgen({
      target: traffic.server.address,
      model: "flights",
      rate,
      concurrency: 4,
      requests: 0,
      durationMs: minutes * MINUTE_MS,
      batch: 1,
      shuffle: true,
      labelFraction: 0.5,
      labelDelayMs: 0,
      idPrefix: "screenshots-",
      drift: [parseShift("distance*1.5"), parseShift("hour+6")],
      driftAfter: (rate * minutes * 60) / 2,
    });
    const { store } = traffic;
    await Promise.all([store.predictions.flush(), store.labels.flush(), store.spans.flush()]);
    const monitored = (await traffic.lookup("flights", "1"))!;
    const job = new MonitorJob(store.engine, () => [monitored], { windowMs: MINUTE_MS, everyMs: MINUTE_MS });
    for (const w of windows(Math.floor(traffic.startedMs / MINUTE_MS) * MINUTE_MS * 1000, Date.now() * 1000, MINUTE_MS * 1000)) await job.runOnce(w);
    const alerting = parseAlertingConfig(
      {
        rules: [
          {
            name: "AccuracyLow",
            metric: "quality.accuracy",
            op: "<",
            threshold: 0.9,
            range: "15m",
            severity: "warning",
            annotations: { summary: "accuracy is {{ $value }}, below 0.9" },
          },
        ],
      },
      "screenshots",
      ROOT,
    );
    await new AlertEvaluator(store.engine, alerting.rules).evaluate();

    const api = await traffic.startApi(TOKEN);
    const dashboard = await startDashboardProcess({ apiUrl: api.url, apiToken: TOKEN, password: PASSWORD });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await logIn(page, dashboard.url, PASSWORD);
      const shoot = async (name: string, path: string) => {
        const response = await page.goto(`${dashboard.url}${path}`, { waitUntil: "networkidle" });
        if (response?.status() !== 200) throw new Error(`${path} answered ${response?.status()}`);
        await page.screenshot({ path: join(IMAGES, `${name}.png`) });
        console.log(`docs/images/${name}.png: ${path}`);
      };
      /** The first link in the page's main content to a path matching `pattern`. */
      const firstLink = async (pattern: RegExp) => {
        const hrefs = await page.locator("main a[href]").evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""));
        const href = hrefs.find((h) => pattern.test(new URL(h, dashboard.url).pathname));
        if (!href) throw new Error(`no link matching ${pattern} on ${page.url()}`);
        return href;
      };

      await shoot("overview", "/?range=15m");
      await shoot("model", "/models/flights?range=15m");
      await shoot("drift", "/models/flights/drift?range=15m");
      await shoot("slos", "/slos?range=15m");
      await shoot("alerts", "/alerts?range=15m");
      await shoot("traces", "/traces?range=15m");
      await shoot("trace", await firstLink(/^\/traces\/[0-9a-f]{32}$/));
      await shoot("predictions", "/predictions?range=15m");
      await page.setViewportSize({ width: 390, height: 844 });
      await shoot("overview-phone", "/?range=15m");
    } finally {
      await dashboard.stop();
      await api.close();
    }
  } finally {
    await traffic.close();
  }
  // The embedded store opens one data directory per process: the rollout's stack comes after the demo's.
  await shootRollout(browser);
} finally {
  await browser.close();
}

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
import { parseShift } from "@vigil/cli";
import { AlertEvaluator, MonitorJob, parseAlertingConfig, windows } from "@vigil/monitor";
import { listRolloutEvents } from "@vigil/store";
import type { Browser, Page } from "playwright-core";
import { launchChromium, logIn } from "../test/support/browser.js";
import { startDashboardProcess } from "../test/support/dashboard.js";
import { demoTraffic, flightsTraffic } from "../test/support/demo-traffic.js";
import { rolloutStack } from "../test/support/rollout.js";
import { eventually } from "../test/support/store.js";
import { flag } from "./args.js";

const ROOT = join(import.meta.dirname, "..");
const IMAGES = join(ROOT, "docs", "images");
const minutes = Number(flag("minutes") ?? 4);
const PASSWORD = "screenshots password";
const TOKEN = "screenshots";
const MINUTE_MS = 60_000;

/** The Rollout page of a canary the monitor judged worse and rolled back (the stack of test/dashboard-rollout.int.test.ts). */
async function shootRollout(browser: Browser): Promise<void> {
  const stack = await rolloutStack({ canaryWeight: 0.3, logLevel: "warn", onCatalogError: (e) => console.warn(e.message) });
  try {
    const monitoring = stack.startMonitoring("10s", TOKEN);
    await monitoring.started;
    console.log("rollout: a canary trained on shuffled delays, until the monitor rolls it back");
    await flightsTraffic(stack.server.address, 4000, { rate: 100, idPrefix: "rollout-" });
    await stack.flush();
    await eventually(
      async () => (await listRolloutEvents(stack.store.engine, { model: "flights" })).some((e) => e.action === "rolled_back"),
      Boolean,
      "the monitor to roll the canary back",
      120_000,
    );
    await flightsTraffic(stack.server.address, 500, { rate: 100, idPrefix: "after-" });
    await stack.flush();
    const api = (await monitoring.api)!;
    const dashboard = await startDashboardProcess({ apiUrl: api.url, apiToken: TOKEN, password: PASSWORD });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await logIn(page, dashboard.url, PASSWORD);
      await shoot(page, dashboard.url, "rollout", "/models/flights/rollout");
    } finally {
      await dashboard.stop();
    }
  } finally {
    await stack.close();
  }
}

/** Opens `path` of the dashboard at `base`, which must answer 200, and saves the page as docs/images/<name>.png. */
async function shoot(page: Page, base: string, name: string, path: string): Promise<void> {
  const response = await page.goto(`${base}${path}`, { waitUntil: "networkidle" });
  if (response?.status() !== 200) throw new Error(`${path} answered ${response?.status()}`);
  await page.screenshot({ path: join(IMAGES, `${name}.png`) });
  console.log(`docs/images/${name}.png: ${path}`);
}

const traffic = await demoTraffic(200);
const browser = await launchChromium();
try {
  try {
    console.log(`demo traffic for ${minutes} minutes, drift (distance*1.5, hour+6) from half way`);
    const rate = 20;
    await flightsTraffic(traffic.server.address, 0, {
      rate,
      durationMs: minutes * MINUTE_MS,
      labelFraction: 0.5,
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
      const shootPage = (name: string, path: string) => shoot(page, dashboard.url, name, path);
      /** The first link in the page's main content to a path matching `pattern`. */
      const firstLink = async (pattern: RegExp) => {
        const hrefs = await page.locator("main a[href]").evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""));
        const href = hrefs.find((h) => pattern.test(new URL(h, dashboard.url).pathname));
        if (!href) throw new Error(`no link matching ${pattern} on ${page.url()}`);
        return href;
      };

      await shootPage("overview", "/?range=15m");
      await shootPage("model", "/models/flights?range=15m");
      await shootPage("drift", "/models/flights/drift?range=15m");
      await shootPage("slos", "/slos?range=15m");
      await shootPage("alerts", "/alerts?range=15m");
      await shootPage("traces", "/traces?range=15m");
      await shootPage("trace", await firstLink(/^\/traces\/[0-9a-f]{32}$/));
      await shootPage("predictions", "/predictions?range=15m");
      await page.setViewportSize({ width: 390, height: 844 });
      await shootPage("overview-phone", "/?range=15m");
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

import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Browser, Page } from "playwright-core";
import { runLoadgen } from "@vigil/cli";
import {
  AlertEvaluator,
  type AlertsResponse,
  alertsSchema,
  healthSchema,
  histogramsSchema,
  modelsSchema,
  overviewSchema,
  parseAlertingConfig,
  silencesSchema,
  sloRules,
  slosSchema,
  startMonitorApi,
} from "@vigil/monitor";
import { collectPageErrors, launchChromium, logIn } from "./support/browser.js";
import { type DashboardProcess, startDashboardProcess } from "./support/dashboard.js";
import { type DemoTraffic, demoTraffic } from "./support/demo-traffic.js";

const ROOT = join(import.meta.dirname, "..");
const SCREENSHOTS = join(ROOT, "test-results", "screenshots");
const PASSWORD = "correct horse battery";
const TOKEN = "dashboard-alerts-token";
const SLO = "flights-fast";
const BATCHED_REQUESTS = 20;
const BATCH = 4;

type AlertRow = AlertsResponse[number];

/** A link's path and query parameters. */
const parts = (href: string) => {
  const url = new URL(href, "http://dashboard");
  return { path: url.pathname, params: Object.fromEntries(url.searchParams) };
};

/**
 * Alerts that lead to their cause, over the real stack: demo traffic (single and batched
 * requests) in an embedded store, a monitor window evaluated, alerts of each kind planted by the
 * real evaluator (a drifted input, a quality rule, an SLO burning its budget), the monitor API
 * without an evaluator of its own (as the dashboard's API often runs), `next start`, and Chromium.
 */
describe("alerts lead to their cause", () => {
  let traffic: DemoTraffic;
  let api: Awaited<ReturnType<typeof startMonitorApi>>;
  let dashboard: DashboardProcess;
  let browser: Browser;
  let page: Page;
  let active: AlertRow[];
  const consoleErrors: string[] = [];

  const apiGet = async <T>(schema: { parse(value: unknown): T }, path: string): Promise<T> => {
    const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(response.status, 200, path);
    return schema.parse(await response.json());
  };
  const visit = async (path: string, shot: string) => {
    const response = await page.goto(`${dashboard.url}${path}`, { waitUntil: "networkidle" });
    assert.equal(response?.status(), 200, `${path} answers 200`);
    await page.screenshot({ path: join(SCREENSHOTS, `${shot}.png`), fullPage: true });
  };
  const alertNamed = (name: string, labels: Record<string, string> = {}) => {
    const found = active.find((a) => a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
    assert.ok(found, `${name} ${JSON.stringify(labels)} is active: ${active.map((a) => JSON.stringify(a.labels)).join("; ")}`);
    return found;
  };
  /** The hrefs of an active alert's cause links on the Alerts page, by kind. */
  const linksOf = async (alert: AlertRow) => {
    const row = page.locator(`[data-table=active-alerts] tr[data-fingerprint="${alert.fingerprint}"]`);
    const links = row.locator("[data-link]");
    const out: Record<string, ReturnType<typeof parts>> = {};
    for (let i = 0; i < (await links.count()); i++) out[(await links.nth(i).getAttribute("data-link"))!] = parts((await links.nth(i).getAttribute("href"))!);
    return { row, links: out };
  };
  const covers = (params: Record<string, string>, window: { start: string; end: string }, what: string) => {
    assert.ok(Date.parse(params.from!) <= Date.parse(window.start), `${what}: from ${params.from} is at or before the window's start ${window.start}`);
    assert.ok(Date.parse(params.to!) >= Date.parse(window.end), `${what}: to ${params.to} is at or after the window's end ${window.end}`);
  };

  before(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    traffic = await demoTraffic(120);
    const batched = await runLoadgen({
      target: traffic.server.address,
      model: "flights",
      rate: 0,
      concurrency: 2,
      requests: BATCHED_REQUESTS,
      durationMs: 0,
      batch: BATCH,
      shuffle: false,
      labelFraction: 0,
      labelDelayMs: 0,
      idPrefix: "batched-",
    });
    assert.equal(batched.ok, BATCHED_REQUESTS);
    await traffic.store.predictions.flush();
    const config = parseAlertingConfig(
      {
        rules: [
          {
            name: "InputDrift",
            metric: "drift.score",
            scope: { model: "flights", feature: "hour" },
            op: ">=",
            threshold: 0,
            range: "15m",
            severity: "warning",
          },
          { name: "AccuracyLow", metric: "quality.accuracy", scope: { model: "flights" }, op: "<", threshold: 1.01, range: "15m", severity: "critical" },
        ],
        // Almost no request is answered within 0.1 ms, so the budget burns far beyond every threshold.
        slos: [{ name: SLO, model: "flights", indicator: "latency", threshold: "0.1ms", objective: 0.999, window: "30d" }],
      },
      "test",
      ROOT,
    );
    // SLOs count complete minutes: evaluate once the traffic's last minute is over.
    await sleep(Math.ceil(Date.now() / 60_000) * 60_000 - Date.now() + 500);
    await new AlertEvaluator(traffic.store.engine, [...config.rules, ...config.slos.flatMap(sloRules)]).evaluate();
    api = await startMonitorApi({
      engine: traffic.store.engine,
      host: "127.0.0.1",
      port: 0,
      tokens: [TOKEN],
      models: traffic.lookup,
      repository: traffic.repository,
      slos: config.slos,
    });
    active = await apiGet(alertsSchema, "/api/v1/alerts");

    dashboard = await startDashboardProcess({ apiUrl: api.url, apiToken: TOKEN, password: PASSWORD });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    collectPageErrors(page, consoleErrors);
    await logIn(page, dashboard.url, PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await dashboard?.stop();
    await api?.close();
    await traffic?.close();
  });

  test("the API gives each alert its condition and window, and health reports the firing alerts from the history", async () => {
    const drift = alertNamed("InputDrift", { feature: "hour" });
    assert.deepEqual(drift.condition, { metric: "drift.score", op: ">=", threshold: 0 });
    assert.ok(drift.window && Date.parse(drift.window.end) >= traffic.endedMs - 1000, "the drift window is the monitor window over the traffic");
    const burn = alertNamed("SLOBurnRate", { slo: SLO, long_window: "1h" });
    assert.deepEqual(burn.condition, { metric: "burn_rate", op: ">", threshold: 14.4 });
    assert.ok(burn.value > 14.4);
    assert.equal(Date.parse(burn.window!.end) - Date.parse(burn.window!.start), 3_600_000, "the long window");
    assert.match(burn.annotations.summary!, /burning its error budget [\d.]+x the budget rate over 1h \(threshold 14\.4x\)/);
    assert.ok(!burn.annotations.summary!.includes("14.4x the budget rate"), "the summary says the actual rate, not the threshold");
    assert.ok(
      active.every((a) => !Object.keys(a.annotations).some((k) => k.startsWith("__"))),
      "the stored cause is not an annotation",
    );
    const history = await apiGet(alertsSchema, "/api/v1/alerts/history?from=-1h&to=now");
    assert.ok(history.length >= active.length, `${history.length} changes for ${active.length} active alerts`);
    assert.deepEqual(
      history.filter((h) => h.condition === null || h.window === null),
      [],
      "every change carries its condition and window",
    );

    const health = await apiGet(healthSchema, "/api/v1/health");
    assert.equal(health.alerting.source, "history");
    assert.equal(health.alerting.firing, active.filter((a) => a.state === "firing").length);
    assert.ok(health.alerting.source === "history" && health.alerting.lastChangeAt !== null);
  });

  test("requests count requests, not prediction rows, as vigil_inference_requests_total does", async () => {
    const overview = await apiGet(overviewSchema, "/api/v1/overview?from=-1h&to=now");
    const counter = await traffic.server.server.metricsRegistry!.getSingleMetric("vigil_inference_requests_total")!.get();
    const served = counter.values.filter((v) => v.labels.model === "flights").reduce((n, v) => n + v.value, 0);
    assert.equal(overview.totals.requests, served);
    assert.equal(overview.totals.requests, traffic.summary.ok + BATCHED_REQUESTS);
    assert.equal(overview.totals.rows, traffic.summary.ok + BATCHED_REQUESTS * BATCH);
    assert.equal(
      overview.series.reduce((n, p) => n + p.requests, 0),
      overview.totals.requests,
    );
    assert.equal(overview.totals.models.find((m) => m.model === "flights")?.requests, overview.totals.requests);
  });

  test("on the Alerts page each alert links to its cause, shows its value and threshold, and prefills a silence", async () => {
    await visit("/alerts", "alerts-causes");
    const drift = alertNamed("InputDrift", { feature: "hour" });
    const driftRow = await linksOf(drift);
    assert.equal(driftRow.links.drift?.path, "/models/flights/drift");
    assert.deepEqual(
      [driftRow.links.drift.params.version, driftRow.links.drift.params.feature, driftRow.links.drift.params.window],
      ["1", "hour", drift.window!.end],
    );
    covers(driftRow.links.drift.params, drift.window!, "drift link");
    assert.equal(await driftRow.row.locator("[data-value]").getAttribute("data-value"), String(drift.value));
    assert.equal((await driftRow.row.locator("[data-threshold]").textContent())?.trim(), ">= 0");

    const quality = alertNamed("AccuracyLow");
    const qualityRow = await linksOf(quality);
    assert.equal(qualityRow.links.model?.path, "/models/flights");
    assert.equal(qualityRow.links.model.params.version, "1");
    covers(qualityRow.links.model.params, quality.window!, "quality link");
    assert.equal((await qualityRow.row.locator("[data-threshold]").textContent())?.trim(), "< 1.01");

    for (const long of ["1h", "6h"]) {
      const burn = alertNamed("SLOBurnRate", { slo: SLO, long_window: long });
      const burnRow = await linksOf(burn);
      assert.deepEqual([burnRow.links.slo?.path, burnRow.links.slo?.params.slo], ["/slos", SLO]);
      covers(burnRow.links.slo!.params, burn.window!, "SLO link");
      assert.deepEqual(burnRow.links.traces, {
        path: "/traces",
        params: { model: "flights", sort: "slowest", from: burn.window!.start, to: burn.window!.end },
      });
      assert.ok(Date.parse(burn.window!.start) <= traffic.startedMs && Date.parse(burn.window!.end) >= traffic.endedMs, "the window holds the traffic");
      assert.equal(await burnRow.row.locator("[data-value]").getAttribute("data-value"), String(burn.value));
    }
    const historyLinks = await page
      .locator("[data-table=alert-history] tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.querySelectorAll("[data-link]").length));
    assert.ok(historyLinks.length > 0, "the history lists the changes");
    assert.deepEqual(
      historyLinks.filter((n) => n === 0),
      [],
      "every history row links to a cause",
    );

    await Promise.all([page.waitForURL(/silence=/), page.click(`[data-table=active-alerts] [data-silence-for="${drift.fingerprint}"]`)]);
    await page.waitForLoadState("networkidle");
    assert.equal(await page.inputValue("#new-silence textarea[name=matchers]"), 'alertname="InputDrift"\nmodel="flights"\nfeature="hour"');
    await page.fill("#new-silence input[name=comment]", "silenced from the alert");
    await page.click("#new-silence button[type=submit]");
    await page.waitForSelector("[data-table=silences] td:has-text('silenced from the alert')");
    const silence = (await apiGet(silencesSchema, "/api/v1/silences")).find((s) => s.comment === "silenced from the alert");
    assert.deepEqual(silence?.matchers, [
      { name: "alertname", op: "=", value: "InputDrift" },
      { name: "model", op: "=", value: "flights" },
      { name: "feature", op: "=", value: "hour" },
    ]);
  });

  test("following InputDrift's link from the Alerts page lands on the drifted input's histograms for the alert's window", async () => {
    const drift = alertNamed("InputDrift", { feature: "hour" });
    await visit("/alerts", "alerts-before-following");
    const link = page.locator(`[data-table=active-alerts] tr[data-fingerprint="${drift.fingerprint}"] [data-link=drift]`);
    await Promise.all([page.waitForURL(/\/models\/flights\/drift\?/), link.click()]);
    await page.waitForLoadState("networkidle");
    await page.screenshot({ path: join(SCREENSHOTS, "alert-to-drift.png"), fullPage: true });
    const card = page.locator("#histogram-hour");
    assert.equal(await page.locator("[id^=histogram-]").first().getAttribute("id"), "histogram-hour", "the alert's input comes first");
    assert.ok(await card.isVisible(), "its histograms are on screen");
    const window = new URLSearchParams({ version: "1", feature: "hour", from: drift.window!.start, to: drift.window!.end });
    const expected = await apiGet(histogramsSchema, `/api/v1/models/flights/histograms?${window.toString()}`);
    const counts = await page.locator("[data-table=histogram-counts][data-feature=hour] tbody td:nth-child(3)").allTextContents();
    const shown = counts.reduce((n, c) => n + Number(c), 0);
    const current = expected.inputs[0]!.current.reduce((n, c) => n + c, 0);
    assert.ok(current > 0, "the alert's window holds traffic");
    assert.equal(shown, current, "the page's current counts are the alert window's");
  });

  test("the Overview's status strip marks the model's drift, quality and SLO firing, each linking to the cause", async () => {
    await visit("/", "overview-status");
    const row = page.locator("[data-table=model-status] tr[data-model=flights]");
    const status = async (area: string) => row.locator(`td[data-area=${area}]`).getAttribute("data-status");
    assert.deepEqual([await status("drift"), await status("quality"), await status("slo")], ["firing", "firing", "firing"]);
    const driftHref = parts((await row.locator("td[data-area=drift] a").getAttribute("href"))!);
    assert.deepEqual([driftHref.path, driftHref.params.feature], ["/models/flights/drift", "hour"]);
    const groups = await page.locator("[data-list=alert-groups] > li").evaluateAll((items) => items.map((i) => i.getAttribute("data-alert-group")));
    assert.deepEqual(groups, ["AccuracyLow", "SLOBurnRate", "InputDrift"], "grouped by name and model, critical first");
    assert.ok((await page.locator("[data-chart='Traffic'] svg").count()) > 0, "the traffic chart renders");
    assert.ok((await page.textContent("[data-chart='Traffic'] figcaption"))?.includes("req/s"));
    const { models } = await apiGet(modelsSchema, "/api/v1/models");
    const firstServed = Date.parse(models.find((m) => m.name === "flights")!.versions.find((v) => v.version === "1")!.firstServedAt!);
    assert.equal(firstServed, Math.floor(traffic.startedMs / 60_000) * 60_000, "version 1 began serving in the traffic's first minute");
    for (const chart of ["Traffic", "Latency"]) {
      const labels = await page.locator(`[data-chart='${chart}'] svg text`).allTextContents();
      assert.ok(labels.includes("flights v1"), `${chart} marks where flights v1 began serving: ${labels.join(", ")}`);
    }
  });

  test("the SLO page highlights the SLO a link names, draws its burn thresholds, and links to its slowest traces", async () => {
    const slos = await apiGet(slosSchema, "/api/v1/slos");
    assert.deepEqual(
      slos.find((s) => s.slo === SLO)?.burnRateAlerts.map((a) => a.factor),
      [14.4, 6, 3, 1],
    );
    await visit(`/slos?slo=${SLO}&range=1h`, "slo-selected");
    const section = page.locator(`[data-slo="${SLO}"]`);
    assert.equal(await section.getAttribute("aria-current"), "true");
    const traces = parts((await section.locator("[data-link=slowest-traces]").getAttribute("href"))!);
    assert.deepEqual(traces, { path: "/traces", params: { model: "flights", sort: "slowest", range: "1h" } });
    const labels = await section.locator("[data-chart] svg text").allTextContents();
    for (const factor of ["14.4×", "6×", "3×", "1×"]) assert.ok(labels.includes(factor), `a threshold line at ${factor}: ${labels.join(", ")}`);
    const unknown = await page.goto(`${dashboard.url}/slos?slo=no-such-slo`);
    assert.equal(unknown?.status(), 404);
  });

  test("no page logged a console error", () => {
    assert.deepEqual(
      consoleErrors.filter((e) => !e.includes("no-such-slo")),
      [],
    );
  });
});

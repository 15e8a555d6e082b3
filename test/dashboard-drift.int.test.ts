import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  AlertEvaluator,
  alertsSchema,
  confusionSchema,
  windowConfusionSchema,
  histogramsSchema,
  modelResultsSchema,
  modelsSchema,
  parseAlertingConfig,
  type startMonitorApi,
} from "@vigil/monitor";
import { byDriftSeverity, windowsOf } from "../packages/dashboard/src/lib/drift.js";
import { launchChromium, logIn } from "./support/browser.js";
import { type DashboardProcess, startDashboardProcess } from "./support/dashboard.js";
import { type DriftTraffic, driftTraffic } from "./support/drift-traffic.js";
import { eventually } from "./support/store.js";

const SCREENSHOTS = join(import.meta.dirname, "..", "test-results", "screenshots");
const PASSWORD = "drift pages password";
const TOKEN = "dashboard-drift-token";

/**
 * The Models, Model and Drift pages in Debian's Chromium, over a real monitor API and store that
 * hold a calm window, a window with planted drift, and requests refused for a model and a
 * version the repository does not hold.
 */
describe("dashboard: models, model and drift pages", () => {
  let traffic: DriftTraffic;
  let api: Awaited<ReturnType<typeof startMonitorApi>>;
  let dashboard: DashboardProcess;
  let browser: Browser;
  let page: Page;
  /** An absolute range around both windows, so the pages and the API read the same rows whenever the test runs. */
  let range: string;
  const pageErrors: string[] = [];

  const apiGet = async <T>(schema: { parse(value: unknown): T }, path: string): Promise<T> => {
    const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(response.status, 200, path);
    return schema.parse(await response.json());
  };
  const visit = async (path: string, shot?: string) => {
    const response = await page.goto(`${dashboard.url}${path}`, { waitUntil: "networkidle" });
    if (shot) await page.screenshot({ path: join(SCREENSHOTS, `${shot}.png`), fullPage: true });
    return response?.status();
  };
  const driftPoints = async () => (await apiGet(modelResultsSchema, `/api/v1/models/flights/drift?${range}&version=1`)).points;
  const currentCounts = (feature: string) =>
    page
      .locator(`[data-table=histogram-counts][data-feature=${feature}] tbody td:nth-child(3)`)
      .allTextContents()
      .then((cells) => cells.map(Number));

  before(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    traffic = await driftTraffic(150);
    const watch = parseAlertingConfig(
      { rules: [{ name: "AccuracyWatch", metric: "quality.accuracy", op: ">=", threshold: 0, range: "15m", severity: "info" }] },
      "test",
      import.meta.dirname,
    );
    assert.equal((await new AlertEvaluator(traffic.store.engine, watch.rules).evaluate()).length, 1, "one alert on the model, for its marker");
    api = await traffic.startApi(TOKEN);
    range = `from=${new Date(traffic.windows[0]!.fromMs - 60_000).toISOString()}&to=${new Date(traffic.windows[1]!.toMs + 60_000).toISOString()}`;
    dashboard = await startDashboardProcess({ apiUrl: api.url, apiToken: TOKEN, password: PASSWORD });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("pageerror", (e) => pageErrors.push(`${page.url()}: ${e.message}`));
    await logIn(page, dashboard.url, PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await dashboard?.stop();
    await api?.close();
    await traffic?.close();
  });

  test("Models lists the repository's models; refused requests for a phantom model and version are shown apart, not as models", async () => {
    assert.equal(await visit(`/models?${range}`, "models-b"), 200);
    const { models } = await apiGet(modelsSchema, "/api/v1/models");
    assert.deepEqual(
      await page
        .locator("[data-table=models] tbody tr")
        .evaluateAll((rows) => rows.map((r) => `${r.getAttribute("data-model")}:${r.getAttribute("data-version")}`)),
      models.flatMap((m) => m.versions.map((v) => `${m.name}:${v.version}`)),
    );
    assert.deepEqual(await page.locator("[data-table=models] tbody th").allTextContents(), ["flights"]);
    const refused = await page.locator("[data-table=refused] tbody tr").evaluateAll((rows) => rows.map((r) => r.textContent));
    assert.ok(
      refused.some((r) => r?.startsWith("nope")),
      `the unknown model among the refused: ${refused.join(" | ")}`,
    );
    assert.ok(
      refused.some((r) => r?.startsWith("flights9")),
      `version 9 among the refused: ${refused.join(" | ")}`,
    );
  });

  test("Drift opens on the serving version, ranks the newest window's inputs by drift score and says how many drifted", async () => {
    assert.equal(await visit(`/models/flights/drift?${range}`, "drift-b"), 200);
    const [serving] = (await apiGet(modelsSchema, "/api/v1/models")).models.map((m) => m.servingVersion);
    assert.equal(await page.inputValue("select[aria-label='model version']"), serving);
    assert.match((await page.textContent("h2"))!, new RegExp(`Drift of flights version ${serving}`));
    const points = await driftPoints();
    const newest = windowsOf(points).at(-1)!;
    const judged = points.filter((p) => p.feature !== "" && p.windowEnd === newest.end);
    assert.deepEqual(
      await page.locator("[data-table=drift-inputs] tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-feature"))),
      byDriftSeverity(judged).map((p) => p.feature),
    );
    const verdicts = await page
      .locator("[data-table=drift-inputs] tbody tr [data-verdict]")
      .evaluateAll((badges) => badges.map((b) => b.getAttribute("data-verdict")));
    assert.ok(verdicts.lastIndexOf("drifted") < verdicts.indexOf("calm"), `drifted inputs come first: ${verdicts.join(", ")}`);
    const drifted = judged.filter((p) => p.breached).length;
    assert.ok(judged.find((p) => p.feature === "distance")?.breached, "tripled distances drift");
    assert.match(
      (await page.textContent("[data-summary]"))!,
      new RegExp(`^${drifted} of ${judged.length} inputs drifted in the window ending \\d\\d:\\d\\d:\\d\\d UTC`),
    );
    assert.equal(await page.locator("[data-verdict=drifted]").first().textContent(), "drifted", "drift is said in words, not only by colour");
  });

  test("clicking a heatmap cell shows that window's histograms: the current counts are the API's for that window", async () => {
    await visit(`/models/flights/drift?${range}`);
    const calm = windowsOf(await driftPoints())[0]!;
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get("window") === calm.end),
      page.click(`[data-table=drift-heatmap] td[data-feature=distance][data-window-end="${calm.end}"] a`),
    ]);
    await page.waitForLoadState("networkidle");
    const { inputs } = await apiGet(histogramsSchema, `/api/v1/models/flights/histograms?from=${calm.start}&to=${calm.end}&version=1`);
    const distance = inputs.find((h) => h.feature === "distance")!;
    assert.deepEqual(await currentCounts("distance"), distance.current);
    assert.equal(
      distance.current.reduce((a, b) => a + b, 0),
      traffic.summary.ok,
      "only the calm window's rows",
    );
    const confidence = inputs.find((h) => h.feature === "confidence")!;
    assert.equal(
      (await currentCounts("confidence")).reduce((a, b) => a + b, 0),
      confidence.current.reduce((a, b) => a + b, 0),
    );
    const labels = await page.locator("[data-table=histogram-counts][data-feature=confidence] tbody th").allTextContents();
    assert.ok(
      labels.every((l) => !/\d\.\d{5,}/.test(l)),
      `bin labels are rounded: ${labels.join(", ")}`,
    );
    const origins = await page.locator("[data-table=histogram-counts][data-feature=origin] tbody th").allTextContents();
    assert.ok(origins.length <= 12 && origins.at(-1)!.startsWith("other ("), `86 airports read as the top ones and "other": ${origins.join(", ")}`);
  });

  test("a link to a feature and window shows that feature's histograms first, highlighted and scrolled into view", async () => {
    const calm = windowsOf(await driftPoints())[0]!;
    assert.equal(await visit(`/models/flights/drift?version=1&feature=weekday&window=${encodeURIComponent(calm.end)}&${range}`, "drift-feature"), 200);
    const first = page.locator("[data-section=histograms] figure").first();
    assert.equal(await first.getAttribute("id"), "histogram-weekday");
    assert.equal(await first.getAttribute("aria-current"), "true");
    await eventually(
      async () => (await first.boundingBox())?.y ?? -1,
      (top) => top >= 0 && top < 900,
      "the highlighted histogram to scroll into the viewport",
    );
    const { inputs } = await apiGet(histogramsSchema, `/api/v1/models/flights/histograms?from=${calm.start}&to=${calm.end}&version=1&feature=weekday`);
    assert.deepEqual(await currentCounts("weekday"), inputs[0]!.current);
  });

  test("the Model page's per-class table and confusion matrix sum the monitor windows of the chosen range and say which", async () => {
    const calm = traffic.windows[0]!;
    const from = new Date(calm.fromMs).toISOString();
    const to = new Date(calm.toMs).toISOString();
    const utc = (iso: string) => `${iso.replace("T", " ").slice(0, 19)} UTC`;
    assert.equal(await visit(`/models/flights?version=1&from=${from}&to=${to}`, "model-b"), 200);
    const computed = await apiGet(confusionSchema, `/api/v1/models/flights/confusion?from=${from}&to=${to}&version=1`);
    const cells = await page.locator("[data-table=confusion] tbody td").evaluateAll((tds) => tds.map((td) => Number(td.getAttribute("data-count"))));
    assert.deepEqual(cells, computed.confusion.flat(), "a range that is one window's bounds shows the rows' own counts");
    assert.ok(computed.rows < traffic.summary.labelsSent + traffic.drifted.labelsSent, "the range holds only the calm window's labels");
    const covers = (await page.textContent("[data-covers]"))!;
    assert.match(covers, new RegExp(`^over ${utc(from)} to ${utc(to)}, ${computed.rows} labelled predictions$`));
    assert.equal(await page.inputValue("select[aria-label='model version']"), "1");

    const inside = new Date(calm.fromMs + 1000).toISOString();
    assert.equal(await visit(`/models/flights?version=1&from=${inside}&to=${to}`), 200);
    const summed = await apiGet(windowConfusionSchema, `/api/v1/models/flights/confusion/windows?from=${inside}&to=${to}&version=1`);
    assert.deepEqual(summed.confusion, computed.confusion, "the window that ends in the range, whole");
    assert.equal(
      (await page.textContent("[data-covers]"))!,
      `over ${utc(from)} to ${utc(to)}, ${summed.rows} labelled predictions (the monitor windows that end in the chosen range, ${utc(inside)} to ${utc(to)})`,
    );
  });

  test("the Model page's quality chart marks the model's alerts and the windows whose dataset drifted", async () => {
    assert.equal(await visit(`/models/flights?${range}`), 200);
    const labels = await page.locator("[data-chart='Quality per monitor window'] svg text").allTextContents();
    const alerts = (await apiGet(alertsSchema, `/api/v1/alerts/history?${range}`)).filter((a) => a.labels.model === "flights" && a.state === "firing");
    assert.equal(labels.filter((l) => l === "AccuracyWatch").length, new Set(alerts.map((a) => a.startsAt)).size);
    assert.ok(alerts.length > 0);
    const driftedWindows = (await driftPoints()).filter((p) => p.metric === "dataset_drift_share" && p.breached);
    assert.equal(labels.filter((l) => l === "dataset drift").length, driftedWindows.length);
  });

  test("an unknown model or version is a 404 page", async () => {
    assert.equal(await visit("/models/nope/drift"), 404);
    assert.equal(await visit("/models/nope"), 404);
    assert.equal(await visit("/models/flights/drift?version=9"), 404);
    assert.equal(await visit(`/models/flights/drift?feature=altitude&${range}`), 200);
    assert.match((await page.textContent("[data-notice=feature]"))!, /flights does not monitor an input named "altitude" \(inputs: hour, weekday, distance/);
    assert.deepEqual(pageErrors, []);
  });
});

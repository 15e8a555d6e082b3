import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { pageOverflow, seriousViolations } from "./support/a11y.js";
import { collectPageErrors, launchChromium, logIn } from "./support/browser.js";
import { type DashboardProcess, startDashboardProcess } from "./support/dashboard.js";
import { type DemoTraffic, demoTraffic } from "./support/demo-traffic.js";
import { predictionRecord } from "./support/store.js";

const PASSWORD = "correct horse battery";
const TOKEN = "dashboard-a11y-token";
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1440, height: 900 };
const HOUR_MS = 3_600_000;
/** Rows planted this long before the demo traffic: a 6-hour chart then has data at two moments with nothing between. */
const EARLIER_MS = 3 * HOUR_MS;

/** The little of the DOM that the functions run in the page use: this test project compiles without DOM types. */
interface PageElement {
  tagName: string;
  className: unknown;
  id: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { right: number };
  closest(selector: string): PageElement | null;
  parentElement: PageElement | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
}
declare const document: Pick<PageElement, "querySelector" | "querySelectorAll"> & {
  scrollingElement: { scrollWidth: number; clientWidth: number } | null;
  activeElement: PageElement | null;
  dispatchEvent(event: Event): boolean;
};
/**
 * The dashboard's shell and accessibility over the production build, a real monitor API and store,
 * in Debian's Chromium: every page passes axe-core, fits a phone's width and has its own title;
 * the skip link, the navigation and the range picker keep the user's place; charts span the range.
 */
describe("dashboard accessibility, phone layout and time range", () => {
  let traffic: DemoTraffic;
  let api: Awaited<ReturnType<DemoTraffic["startApi"]>>;
  let dashboard: DashboardProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Every page's path, by name; the trace and prediction found by following the dashboard's own links. */
  const pages = new Map<string, string>();
  const consoleErrors: string[] = [];

  const visit = async (path: string) => {
    const response = await page.goto(`${dashboard.url}${path}`, { waitUntil: "networkidle" });
    assert.equal(response?.status(), 200, `${path} answers 200`);
  };
  /** The first link on the current page whose path matches, as a path with its query. */
  const firstLink = async (pattern: RegExp) => {
    const hrefs = await page.locator("main a[href]").evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""));
    const href = hrefs.find((h) => pattern.test(new URL(h, "http://x").pathname));
    assert.ok(href, `a link matching ${pattern} on ${page.url()}`);
    return href;
  };

  before(async () => {
    traffic = await demoTraffic(120);
    for (let i = 0; i < 40; i++)
      await traffic.store.predictions.append(
        predictionRecord(i, { timestampUs: (traffic.startedMs - EARLIER_MS + i * 1000) * 1000, requestId: `earlier-${i}`, status: "OK" }),
      );
    await traffic.store.predictions.flush();
    api = await traffic.startApi(TOKEN);
    dashboard = await startDashboardProcess({ apiUrl: api.url, apiToken: TOKEN, password: PASSWORD });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: DESKTOP });
    page = await context.newPage();
    collectPageErrors(page, consoleErrors);
    await logIn(page, dashboard.url, PASSWORD);

    pages.set("Overview", "/");
    pages.set("Models", "/models");
    pages.set("Model", "/models/flights");
    pages.set("Drift", "/models/flights/drift");
    pages.set("Rollout", "/models/flights/rollout");
    pages.set("SLOs", "/slos");
    pages.set("Alerts", "/alerts");
    pages.set("Traces", "/traces");
    await visit("/traces");
    pages.set("Trace", await firstLink(/^\/traces\/[0-9a-f]{32}$/));
    pages.set("Predictions", "/predictions");
    await visit("/predictions");
    pages.set("Prediction", await firstLink(/^\/predictions\/[^/]+\/\d+$/));
  });

  after(async () => {
    await browser?.close();
    await dashboard?.stop();
    await api?.close();
    await traffic?.close();
  });

  const PAGE_NAMES = ["Overview", "Models", "Model", "Drift", "Rollout", "SLOs", "Alerts", "Traces", "Trace", "Predictions", "Prediction"];

  for (const name of PAGE_NAMES) {
    test(`${name}: axe-core finds no serious or critical violation`, async () => {
      await visit(pages.get(name)!);
      assert.deepEqual(await seriousViolations(page), []);
    });
  }

  test("login: axe-core finds no serious or critical violation, and it fits a phone", async () => {
    const anonymous = await browser.newPage({ viewport: PHONE });
    try {
      await anonymous.goto(`${dashboard.url}/login`, { waitUntil: "networkidle" });
      assert.deepEqual(await seriousViolations(anonymous), []);
      assert.equal(await anonymous.title(), "Log in · Vigil");
      const { scrollWidth, clientWidth } = await pageOverflow(anonymous);
      assert.ok(scrollWidth <= clientWidth, `login is ${scrollWidth} px wide in a ${clientWidth} px viewport`);
    } finally {
      await anonymous.close();
    }
  });

  test("no page is wider than a 390 px phone screen", async () => {
    await page.setViewportSize(PHONE);
    try {
      const tooWide: string[] = [];
      for (const name of PAGE_NAMES) {
        await visit(pages.get(name)!);
        const widths = await pageOverflow(page);
        if (widths.scrollWidth > widths.clientWidth) tooWide.push(`${name}: ${widths.scrollWidth} px (${widths.culprits.join(", ")})`);
      }
      assert.deepEqual(tooWide, []);
      await visit("/");
      assert.ok(await page.isVisible("header form.logout button"), "log out is on screen on a phone");
    } finally {
      await page.setViewportSize(DESKTOP);
    }
  });

  test("every page has its own title: the page's name, then the product", async () => {
    const titles: string[] = [];
    for (const name of PAGE_NAMES) {
      await visit(pages.get(name)!);
      titles.push(await page.title());
    }
    const wrong = titles.map((title, i) => `${PAGE_NAMES[i]}: "${title}"`).filter((_, i) => !/^(?!.*Vigil.* · Vigil$).+ · Vigil$/.test(titles[i]!));
    assert.deepEqual(wrong, [], 'each title is the page\'s name once, then " · Vigil"');
    assert.equal(new Set(titles).size, titles.length, `titles repeat: ${titles.join(" | ")}`);
  });

  test("the skip link is the first Tab stop and moves focus to the main content", async () => {
    await visit("/models");
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to main content");
    assert.ok(await page.isVisible("a.skip-link"), "the focused skip link is shown");
    await page.keyboard.press("Enter");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "main");
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => Boolean(document.activeElement?.closest("main"))), true, "the next Tab stop is inside the page");
  });

  test("the navigation keeps the range, marks the current page, and does not prefetch its sections", async () => {
    const SECTIONS = ["/", "/models", "/slos", "/alerts", "/traces", "/predictions"];
    const navHrefs = SECTIONS.map((p) => `${p}?range=6h&refresh=60`);
    // Links inside a page (to a model, to slow traces) are that page's; this counts prefetches of the navigation's own hrefs.
    const prefetches: string[] = [];
    const onRequest = (r: { headers(): Record<string, string>; url(): string }) => {
      const url = new URL(r.url());
      url.searchParams.delete("_rsc");
      if (r.headers()["next-router-prefetch"] && navHrefs.includes(`${url.pathname}${url.search}`)) prefetches.push(r.url());
    };
    page.on("request", onRequest);
    try {
      await visit("/slos?range=6h&refresh=60");
      const hrefs = await page.locator("header nav a").evaluateAll((links) => links.map((a) => a.getAttribute("href")));
      assert.deepEqual(hrefs, navHrefs);
      assert.equal(await page.getAttribute("header nav a[aria-current=page]", "href"), "/slos?range=6h&refresh=60");
      await Promise.all([page.waitForURL(/\/traces\?/), page.click("header nav >> text=Traces")]);
      assert.equal(new URL(page.url()).searchParams.get("range"), "6h");
      assert.equal(await page.inputValue("select[aria-label='time range']"), "6h");
      await page.waitForLoadState("networkidle");
      assert.deepEqual(prefetches, []);
    } finally {
      page.off("request", onRequest);
    }
  });

  test("a custom UTC range goes into the URL as from/to; zoom out widens it; back to live returns to a preset", async () => {
    await visit("/models?range=1h");
    await page.click("summary:text('custom range')");
    await page.fill("input[name=from]", "2026-01-05T10:00");
    await page.fill("input[name=to]", "2026-01-05T09:00");
    await page.click("form.custom-range button[type=submit]");
    assert.equal(await page.textContent("form.custom-range [role=alert]"), "“to” must come after “from”");
    await page.fill("input[name=to]", "2026-01-05T12:00");
    await Promise.all([page.waitForURL(/from=/), page.click("form.custom-range button[type=submit]")]);
    let params = new URL(page.url()).searchParams;
    assert.deepEqual([params.get("from"), params.get("to"), params.get("range")], ["2026-01-05T10:00:00.000Z", "2026-01-05T12:00:00.000Z", null]);
    assert.match((await page.textContent("select[aria-label='time range'] option:checked")) ?? "", /2026-01-05 10:00 to 2026-01-05 12:00 UTC/);
    assert.equal(
      await page.getAttribute("header nav a[href^='/traces']", "href"),
      `/traces?from=${encodeURIComponent("2026-01-05T10:00:00.000Z")}&to=${encodeURIComponent("2026-01-05T12:00:00.000Z")}`,
    );

    await Promise.all([page.waitForURL(/T09%3A00/), page.click("text=zoom out")]);
    params = new URL(page.url()).searchParams;
    assert.deepEqual([params.get("from"), params.get("to")], ["2026-01-05T09:00:00.000Z", "2026-01-05T13:00:00.000Z"]);

    await Promise.all([page.waitForURL(/range=/), page.click("text=back to live")]);
    params = new URL(page.url()).searchParams;
    assert.deepEqual(
      [params.get("range"), params.get("from"), params.get("to")],
      ["7d", null, null],
      "the shortest preset still reaching back to the range's start",
    );
  });

  test("the header says when the data was last fetched, and a refresh updates it", async () => {
    await visit("/models?range=15m");
    const before = await page.textContent("[data-updated]");
    assert.match(before ?? "", /^updated \d\d:\d\d:\d\d UTC$/);
    await page.waitForTimeout(1100);
    await page.click("text=refresh now");
    await page.waitForFunction(
      (shown) =>
        /^updated /.test(document.querySelector("[data-updated]")?.textContent ?? "") && document.querySelector("[data-updated]")?.textContent !== shown,
      before,
    );
  });

  test("auto-refresh runs only while the tab is visible", async () => {
    const refreshes: string[] = [];
    const onRequest = (r: { headers(): Record<string, string>; url(): string }) => {
      if (r.headers()["next-router-state-tree"] && !r.headers()["next-router-prefetch"]) refreshes.push(r.url());
    };
    await visit("/models?refresh=15");
    page.on("request", onRequest);
    try {
      // The page clock runs 15 s ahead without waiting for it; hidden first, then shown again.
      await page.clock.install();
      const showTab = (state: "hidden" | "visible") =>
        page.evaluate((value) => {
          Object.defineProperty(document, "visibilityState", { configurable: true, value });
          document.dispatchEvent(new Event("visibilitychange"));
        }, state);
      await showTab("hidden");
      await page.clock.runFor(16_000);
      assert.deepEqual(refreshes, [], "no refresh while hidden");
      await showTab("visible");
      await page.waitForLoadState("networkidle");
      assert.equal(refreshes.length, 1, "one refresh on being shown again, the period having passed");
    } finally {
      page.off("request", onRequest);
    }
  });

  test("charts: the TimeChart's SVG is not a tab stop and has a text alternative", async () => {
    await visit("/?range=6h");
    const charts = page.locator("figure.chart [role=img]");
    assert.ok((await charts.count()) > 0, "the Overview draws its charts with TimeChart");
    for (const chart of await charts.all()) {
      assert.match((await chart.getAttribute("aria-label")) ?? "", /^.{20,}$/, "a text alternative, not just a title");
      assert.equal(await chart.locator("[tabindex]:not([tabindex='-1']), a, button").count(), 0, "nothing inside a chart takes focus");
    }
  });

  test("a 6-hour chart spans the 6 hours, with a gap where there was no traffic", async () => {
    const requestedMs = Date.now();
    await visit("/?range=6h");
    assert.ok((await page.locator("figure.chart [role=img]").count()) > 0, "the Overview draws its charts with TimeChart");
    const chart = page.locator("figure.chart:has([role=img]):has(.recharts-line-curve)").first();
    const axis = await chart.evaluate((figure) => {
      const line = (figure as PageElement).querySelector(".recharts-xAxis line.recharts-cartesian-axis-line");
      if (!line) throw new Error("the chart has no x axis line");
      const ticks = Array.from((figure as PageElement).querySelectorAll(".recharts-xAxis-tick-labels text.recharts-cartesian-axis-tick-value")).map((t) => ({
        label: t.textContent ?? "",
        x: Number(t.getAttribute("x")),
      }));
      const paths = Array.from((figure as PageElement).querySelectorAll("path.recharts-line-curve")).map((p) => p.getAttribute("d") ?? "");
      return { left: Number(line.getAttribute("x1")), right: Number(line.getAttribute("x2")), ticks, paths };
    });
    const toMs = requestedMs;
    const fromMs = toMs - 6 * HOUR_MS;
    // Ticks read "HH:MM" in UTC: the instant with that time of day at or before the range's end.
    const instants = axis.ticks.map(({ label }) => {
      const [h, m] = label.split(":").map(Number);
      const day = new Date(toMs);
      const at = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), h, m);
      return at > toMs + 60_000 ? at - 24 * HOUR_MS : at;
    });
    assert.ok(instants.length >= 4, `ticks: ${axis.ticks.map((t) => t.label).join(", ")}`);
    assert.ok(
      instants[0]! - fromMs < 1.05 * HOUR_MS && instants[0]! > fromMs - 60_000,
      `first tick ${axis.ticks[0]!.label} within an hour of the range's start`,
    );
    assert.ok(toMs - instants.at(-1)! < 1.05 * HOUR_MS, `last tick ${axis.ticks.at(-1)!.label} within an hour of the range's end`);
    // A time scale: each tick's position is its time's share of the range.
    axis.ticks.forEach(({ x, label }, i) => {
      const share = (x - axis.left) / (axis.right - axis.left);
      assert.ok(Math.abs(share - (instants[i]! - fromMs) / (6 * HOUR_MS)) < 0.02, `tick ${label} at ${(100 * share).toFixed(1)}% of the axis`);
    });
    // Traffic 3 hours ago and now, none between: every line breaks (a second "M" move in its path).
    assert.ok(axis.paths.length > 0);
    for (const d of axis.paths) assert.ok((d.match(/M/g) ?? []).length >= 2, `a line with a gap: ${d.slice(0, 80)}…`);
  });

  test("a drag across a chart zooms the dashboard to that interval", async () => {
    await visit("/?range=6h");
    assert.ok((await page.locator("figure.chart [role=img]").count()) > 0, "the Overview draws its charts with TimeChart");
    const surface = page.locator("figure.chart:has(.recharts-line-curve) .recharts-surface").first();
    const box = (await surface.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 8 });
    await Promise.all([page.waitForURL(/from=/), page.mouse.up()]);
    const params = new URL(page.url()).searchParams;
    const fromMs = Date.parse(params.get("from")!);
    const toMs = Date.parse(params.get("to")!);
    assert.equal(params.get("range"), null);
    assert.ok(toMs > fromMs && toMs - fromMs < 6 * HOUR_MS, `zoomed to ${params.get("from")} – ${params.get("to")}`);
  });

  test("no console errors on any page visited", () => {
    assert.deepEqual(consoleErrors, []);
  });
});

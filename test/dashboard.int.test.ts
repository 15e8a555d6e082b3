import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { LoadgenSummary } from "@vigil/cli";
import { AlertEvaluator, confusionSchema, overviewSchema, parseAlertingConfig, silencesSchema, type startMonitorApi } from "@vigil/monitor";
import { collectPageErrors, launchChromium } from "./support/browser.js";
import { type DashboardProcess, startDashboardProcess } from "./support/dashboard.js";
import { type DemoTraffic, demoTraffic } from "./support/demo-traffic.js";
import { eventually } from "./support/store.js";

const ROOT = join(import.meta.dirname, "..");
const SCREENSHOTS = join(ROOT, "test-results", "screenshots");
const PASSWORD = "correct horse battery";
const TOKEN = "dashboard-test-token";

/**
 * The dashboard's production build served by `next start`, reading a real monitor API over a real store, driven by Debian's Chromium.
 */
describe("dashboard in a real browser", () => {
  let traffic: DemoTraffic;
  let api: Awaited<ReturnType<typeof startMonitorApi>>;
  let dashboard: DashboardProcess;
  let url: string;
  let browser: Browser;
  let page: Page;
  let summary: LoadgenSummary;
  const consoleErrors: string[] = [];
  const offMachine: string[] = [];

  /** A monitor API response, parsed through the schema the dashboard's types come from. */
  const apiGet = async <T>(schema: { parse(value: unknown): T }, path: string): Promise<T> =>
    schema.parse(await (await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json());
  const visit = async (path: string, shot: string) => {
    const response = await page.goto(`${url}${path}`, { waitUntil: "networkidle" });
    assert.equal(response?.status(), 200, `${path} answers 200`);
    await page.screenshot({ path: join(SCREENSHOTS, `${shot}.png`), fullPage: true });
  };

  before(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    traffic = await demoTraffic(150);
    summary = traffic.summary;
    const { store } = traffic;
    const alerting = parseAlertingConfig(
      {
        rules: [
          {
            name: "QualityWatch",
            metric: "quality.accuracy",
            op: ">=",
            threshold: 0,
            range: "15m",
            severity: "info",
            annotations: { summary: "accuracy is {{ $value }}" },
          },
        ],
      },
      "test",
      ROOT,
    );
    assert.equal((await new AlertEvaluator(store.engine, alerting.rules).evaluate()).length, 1, "one alert firing for the dashboard to show");
    api = await traffic.startApi(TOKEN);

    dashboard = await startDashboardProcess({ apiUrl: api.url, apiToken: TOKEN, password: PASSWORD });
    url = dashboard.url;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    collectPageErrors(page, consoleErrors);
    page.on("request", (r) => {
      if (new URL(r.url()).hostname !== "127.0.0.1") offMachine.push(r.url());
    });
  });

  after(async () => {
    await browser?.close();
    await dashboard?.stop();
    await api?.close();
    await traffic?.close();
  });

  test("anonymous visitors are sent to the login; its API route refuses them", async () => {
    await page.goto(`${url}/alerts`);
    assert.equal(new URL(page.url()).pathname, "/login");
    assert.equal((await fetch(`${url}/api/silences`)).status, 401);
    assert.equal((await fetch(`${url}/api/silences`, { method: "POST", body: "{}" })).status, 401);
    await page.fill("input[name=password]", "wrong password");
    await page.click("button[type=submit]");
    await page.waitForSelector("text=wrong password");
    await page.screenshot({ path: join(SCREENSHOTS, "login.png") });
  });

  test("login sets an httpOnly session and lands on the Overview, which shows the API's numbers", async () => {
    await page.goto(`${url}/login`);
    await page.fill("input[name=password]", PASSWORD);
    await Promise.all([page.waitForURL(`${url}/`), page.click("button[type=submit]")]);
    const cookie = (await page.context().cookies()).find((c) => c.name === "vigil_session")!;
    assert.equal(cookie.httpOnly, true);
    await visit("/", "overview");
    const overview = await apiGet(overviewSchema, "/api/v1/overview?from=-1h&to=now");
    assert.equal(overview.totals.requests, summary.ok);
    assert.equal((await page.textContent("[data-metric=requests] .value"))?.trim(), String(summary.ok));
    assert.equal((await page.textContent("[data-metric=firing] .value"))?.trim(), "1");
    assert.ok(await page.isVisible("text=QualityWatch"));
    assert.equal((await page.locator("[data-chart='Latency'] svg").count()) > 0, true, "the latency chart renders");
  });

  test("Model page: per-class figures and confusion matrix as the API computes them", async () => {
    await visit("/models/flights", "model");
    const confusion = await apiGet(confusionSchema, "/api/v1/models/flights/confusion?from=-1h&to=now");
    const cells = await page.locator("[data-table=confusion] tbody td").evaluateAll((tds) => tds.map((td) => Number(td.getAttribute("data-count"))));
    assert.deepEqual(cells, confusion.confusion.flat());
    const supports = await page.locator("[data-table=per-class] tbody tr td:nth-child(5)").allTextContents();
    assert.deepEqual(
      supports.map(Number),
      confusion.perClass.map((c) => c.support),
    );
  });

  test("Drift, SLOs, Traces and Predictions pages load, link to each other, and show the stored data", async () => {
    await visit("/models/flights/drift", "drift");
    assert.deepEqual(await page.locator("[data-table=drift-heatmap] tbody th").allTextContents(), [
      "hour",
      "weekday",
      "distance",
      "origin",
      "destination",
      "prediction",
      "confidence",
    ]);
    assert.ok((await page.locator("[data-chart$='reference against current'] svg").count()) >= 7, "a histogram per input");
    await visit("/slos", "slos");
    assert.ok(await page.isVisible("[data-slo=flights-availability]"));
    await visit("/models", "models");
    await visit("/traces?model=flights", "traces");
    assert.equal(await page.locator("[data-table=traces] tbody tr").count(), Math.min(200, summary.ok));
    await visit("/predictions?hasLabel=true", "predictions");
    const first = page.locator("[data-table=predictions] tbody tr").first();
    const label = (await first.locator("td:nth-child(7)").textContent())!.trim();
    assert.ok(["on_time", "delayed"].includes(label));
    await Promise.all([page.waitForURL(/\/predictions\/.+\/0$/), first.locator("td:nth-child(2) a").click()]);
    await page.waitForLoadState("networkidle");
    await page.screenshot({ path: join(SCREENSHOTS, "prediction.png"), fullPage: true });
    assert.equal((await page.textContent("[data-field=label]"))?.trim(), label);
    await Promise.all([page.waitForURL(/\/traces\/[0-9a-f]{32}$/), page.click("text=the request's trace")]);
    await page.waitForLoadState("networkidle");
    await page.screenshot({ path: join(SCREENSHOTS, "trace.png"), fullPage: true });
    assert.ok((await page.locator("[data-table=waterfall] tbody tr").count()) >= 1);
  });

  test("a silence created in the Alerts page reaches the API and can be expired there", async () => {
    await visit("/alerts", "alerts");
    await page.fill("textarea[name=matchers]", 'alertname="QualityWatch"');
    await page.fill("input[name=comment]", "from the browser");
    await page.click("text=silence >> nth=-1");
    await page.waitForSelector("[data-table=silences] td:has-text('from the browser')");
    const silences = await apiGet(silencesSchema, "/api/v1/silences");
    const created = silences.find((s) => s.comment === "from the browser")!;
    assert.ok(created.endsAt > Date.now());
    await page.click(`[data-silence="${created.id}"] button`);
    await eventually(
      async () => (await apiGet(silencesSchema, "/api/v1/silences")).find((s) => s.id === created.id)!.endsAt,
      (t) => t <= Date.now(),
      "the silence to expire",
    );
    await page.screenshot({ path: join(SCREENSHOTS, "alerts-after.png"), fullPage: true });
  });

  test("login and session fuzzing: hostile passwords, bodies and cookies get a 3xx or 4xx and never a session", async (ctx) => {
    const seeded = (() => {
      let state = 7;
      return () => {
        state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
        return state / 2 ** 31;
      };
    })();
    const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(seeded() * 256)));
    const post = (body: string | Uint8Array, contentType: string, extra: Record<string, string> = {}) =>
      fetch(`${url}/api/login`, { method: "POST", body, redirect: "manual", headers: { "content-type": contentType, ...extra } });
    const outcomes = new Map<string, number>();
    const expect = async (what: string, response: Promise<Response>, statuses: number[], location?: string) => {
      const r = await response;
      await r.arrayBuffer();
      assert.ok(statuses.includes(r.status), `${what}: ${r.status}, expected ${statuses.join(" or ")}`);
      if (location && r.status === 303) assert.equal(r.headers.get("location"), location, what);
      assert.equal(r.headers.get("set-cookie"), null, `${what}: no session`);
      outcomes.set(String(r.status), (outcomes.get(String(r.status)) ?? 0) + 1);
    };
    const form = (password: string) => new URLSearchParams({ password }).toString();
    // Wrong passwords go back to the form until the client is throttled (429); both are right answers here.
    const wrong = [303, 429];
    const hostile = [
      "",
      " ",
      "' OR '1'='1",
      '" OR 1=1 --',
      "admin'--",
      "<script>alert(1)</script>",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
      "${7*7}",
      "{{7*7}}",
      "../../../etc/passwd",
      "%00",
      "\u0000",
      "\uD800",
      "🙂".repeat(200),
      PASSWORD.toUpperCase(),
      `${PASSWORD} `,
      PASSWORD.slice(0, -1),
      "a".repeat(4000),
    ];
    for (const password of hostile)
      await expect(`password ${JSON.stringify(password.slice(0, 20))}`, post(form(password), "application/x-www-form-urlencoded"), wrong, "/login?error=1");
    for (let i = 0; i < 200; i++)
      await expect(`random form body ${i}`, post(randomBytes(1 + Math.floor(seeded() * 3000)), "application/x-www-form-urlencoded"), wrong, "/login?error=1");
    await expect(
      "password twice, the second right",
      post(`password=wrong&password=${encodeURIComponent(PASSWORD)}`, "application/x-www-form-urlencoded"),
      wrong,
      "/login?error=1",
    );
    await expect("5 KB body", post(form("x".repeat(5000)), "application/x-www-form-urlencoded"), [413]);
    await expect("2 MB body", post(randomBytes(2_000_000), "application/x-www-form-urlencoded"), [413]);
    await expect("JSON body", post(JSON.stringify({ password: PASSWORD }), "application/json"), [415]);
    await expect("bad JSON", post('{"password": "', "application/json"), [415]);
    await expect("multipart garbage", post(randomBytes(3000), "multipart/form-data; boundary=xyz"), [415]);
    await expect(
      "no content type",
      fetch(`${url}/api/login`, { method: "POST", body: form(PASSWORD), redirect: "manual", headers: { "content-type": "" } }),
      [415],
    );
    await expect("GET the login route", fetch(`${url}/api/login`, { redirect: "manual" }), [405]);
    await expect(
      "a server-action header on the login page",
      fetch(`${url}/login`, { method: "POST", body: "[]", redirect: "manual", headers: { "next-action": "deadbeef", "content-type": "text/plain" } }),
      [400, 404],
    );

    const forged = [
      "",
      "garbage",
      "1.abc",
      `${Date.now() + 3_600_000}.${"A".repeat(43)}`,
      `99999999999999999999.${"A".repeat(43)}`,
      `${Date.now() - 1000}.x`,
      "1;2;3",
      "x".repeat(4000),
      "' OR 1=1 --",
      "%00%00",
    ];
    for (const cookie of forged) {
      const headers = { cookie: `vigil_session=${encodeURIComponent(cookie)}` };
      await expect(`forged session ${JSON.stringify(cookie.slice(0, 20))} on a page`, fetch(`${url}/`, { headers, redirect: "manual" }), [307], "/login");
      await expect(
        `forged session ${JSON.stringify(cookie.slice(0, 20))} on the API route`,
        fetch(`${url}/api/silences`, { headers, redirect: "manual" }),
        [401],
      );
    }

    const session = (await page.context().cookies()).find((c) => c.name === "vigil_session")!.value;
    const withSession = { cookie: `vigil_session=${session}`, "content-type": "application/json" };
    for (const body of [
      '{"matchers":',
      "null",
      "[]",
      '{"matchers":["alertname=\\"x\' OR 1=1 --\\""],"endsAt":"-1"}',
      '{"matchers":["a=~\\"(\\""],"endsAt":"+1h","comment":"bad regex"}',
      randomBytes(500).toString("latin1"),
    ]) {
      await expect(`silence body ${JSON.stringify(body.slice(0, 30))}`, fetch(`${url}/api/silences`, { method: "POST", body, headers: withSession }), [400]);
    }
    await expect("20 KB silence", fetch(`${url}/api/silences`, { method: "POST", body: "x".repeat(20_000), headers: withSession }), [413]);

    // The fuzzing has locked this client (or just has, until its Retry-After): the right password waits that long, then works.
    let good = await post(form(PASSWORD), "application/x-www-form-urlencoded");
    if (good.status === 429) {
      await new Promise((resolve) => setTimeout(resolve, Number(good.headers.get("retry-after")) * 1000 + 100));
      good = await post(form(PASSWORD), "application/x-www-form-urlencoded");
    }
    assert.deepEqual([good.status, good.headers.get("location")], [303, "/"], "after its wait the right password logs in");
    assert.match(good.headers.get("set-cookie") ?? "", /^vigil_session=\d+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+; Path=\/; Expires=.*; HttpOnly; SameSite=lax$/i);
    ctx.diagnostic(`login fuzz statuses: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  });

  test("no console errors on any page, and no request left the machine", () => {
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(offMachine, []);
  });
});

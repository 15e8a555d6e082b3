import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { PredictionDetail, RolloutResponse } from "@vigil/monitor";
import { type Store, listRolloutEvents } from "@vigil/store";
import type { Browser, Page } from "playwright-core";
import { pageOverflow, seriousViolations } from "./support/a11y.js";
import { collectPageErrors, launchChromium, logIn } from "./support/browser.js";
import { type DashboardProcess, startDashboardProcess } from "./support/dashboard.js";
import { flightsTraffic } from "./support/demo-traffic.js";
import { type RolloutStack, rolloutStack, setRollout } from "./support/rollout.js";
import type { TestServer } from "./support/server.js";
import { eventually } from "./support/store.js";

const TOKEN = "dashboard-rollout-token";
const PASSWORD = "correct horse battery";

type Judgement = NonNullable<NonNullable<RolloutResponse["rollout"]>["judgement"]>;
const percent = (v: number | null) => (v === null ? "-" : `${(100 * v).toFixed(2)}%`);

/**
 * A rollout from end to end, on real parts: `vigil serve`'s server answers the demo model with a
 * canary (version 2, trained on shuffled delays) beside version 1, the client sends labels, the
 * monitor's schedule judges the canary worse and rolls it back, the server takes it out of
 * traffic, and the dashboard's version comparison page says so with the API's figures.
 */
describe("rollout from serving to the dashboard: a worse canary is caught, rolled back and shown", () => {
  let stack: RolloutStack;
  let store: Store;
  let server: TestServer;
  let apiUrl: string;
  let dashboard: DashboardProcess;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  const loadgen = (requests: number, idPrefix: string) => flightsTraffic(server.address, requests, { idPrefix });
  const flush = () => stack.flush();
  const rollout = async () => {
    const response = await fetch(`${apiUrl}/api/v1/models/flights/rollout`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(response.status, 200);
    return ((await response.json()) as RolloutResponse).rollout;
  };

  before(async () => {
    stack = await rolloutStack({
      canaryWeight: 0.5,
      logLevel: "info",
      onCatalogError: (e) => assert.fail(e),
      // A copy of the model under another name, shadowing the same candidate.
      prepare: async (repository) => {
        await cp(join(repository, "flights"), join(repository, "shadowed"), { recursive: true });
        await setRollout(repository, { mode: "shadow", candidate: 2, primary: 1 }, "shadowed");
      },
    });
    ({ store, server } = stack);
    const summary = await loadgen(3000, "before-");
    assert.equal(summary.failed, 0, "every request answered");
    await flush();
    const monitoring = stack.startMonitoring("5s", TOKEN);
    await monitoring.started;
    const api = await monitoring.api;
    assert.ok(api, "the monitor API listens");
    apiUrl = api.url;
  });

  after(async () => {
    await browser?.close();
    await dashboard?.stop();
    await stack?.close();
  });

  test("the monitor rolls the canary back, and the server then answers every unversioned request from version 1", async () => {
    const [rolledBack] = await eventually(
      async () => (await listRolloutEvents(store.engine, { model: "flights" })).filter((e) => e.action === "rolled_back"),
      (events) => events.length > 0,
      "the monitor to roll the canary back",
      90_000,
    );
    assert.equal(rolledBack!.actor, "monitor");
    assert.match(rolledBack!.reason, /^candidate worse than primary: accuracy/);
    await eventually(
      async () => server.logs.some((l) => String(l.msg).startsWith("rollback of model flights applied")),
      Boolean,
      "the server to apply the rollback",
    );
    await loadgen(300, "after-");
    await flush();
    const served = await store.engine.query<{ version: string; role: string; n: string }>(
      "SELECT model_version AS version, role, count() AS n FROM predictions WHERE model_name = 'flights' AND startsWith(request_id, 'after-') GROUP BY version, role",
    );
    assert.deepEqual(
      served.map((r) => [r.version, r.role, Number(r.n)]),
      [["1", "primary", 300]],
    );
    await flightsTraffic(server.address, 100, { model: "shadowed", idPrefix: "shadowed-" });
    await eventually(
      async () => {
        await flush();
        const [row] = await store.engine.query<{ n: string }>("SELECT count() AS n FROM predictions WHERE model_name = 'shadowed' AND role = 'shadow'");
        return Number(row!.n);
      },
      (n) => n === 100,
      "a shadow row for each of the shadowed model's requests",
    );
    const before = await store.engine.query<{ version: string; role: string }>(
      "SELECT DISTINCT model_version AS version, role FROM predictions WHERE model_name = 'flights' AND startsWith(request_id, 'before-') ORDER BY version",
    );
    assert.deepEqual(
      before.map((r) => [r.version, r.role]),
      [
        ["1", "primary"],
        ["2", "canary"],
      ],
      "before the rollback both versions answered",
    );
  });

  test("the version comparison page, reached from the Model page, shows the verdict, state and figures the API gives", async () => {
    const judged = await rollout();
    assert.ok(judged?.judgement, "judged");
    const j: Judgement = judged.judgement;
    assert.equal(judged.state, "rolled_back");
    assert.equal(j.verdict, "worse");
    assert.ok(j.versions.candidate.accuracy! < j.versions.primary.accuracy!, "the shuffled-label version is less accurate");

    dashboard = await startDashboardProcess({ apiUrl, apiToken: TOKEN, password: PASSWORD });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    collectPageErrors(page, consoleErrors);
    await logIn(page, dashboard.url, PASSWORD);
    await page.goto(`${dashboard.url}/models/flights`);
    await Promise.all([page.waitForURL(/\/models\/flights\/rollout/), page.locator("main h2 a", { hasText: "rollout" }).click()]);

    await page.locator("[data-section=verdict]").waitFor();
    await page.waitForURL(/rollout$/);
    assert.equal(await page.title(), "Rollout of flights · Vigil");
    assert.match((await page.locator("main h2").first().textContent()) ?? "", /candidate v2 against primary v1 \(canary\)/);
    assert.equal(await page.locator("[data-section=verdict] [data-verdict]").first().textContent(), "worse");
    assert.equal(await page.locator("[data-sentence]").textContent(), j.sentence);
    assert.equal(await page.locator("[data-state]").getAttribute("data-state"), "rolled_back");
    const accuracyCells = await page
      .locator("[data-table=versions] tr", { hasText: /^accuracy/ })
      .locator("td")
      .allTextContents();
    assert.deepEqual(accuracyCells, [percent(j.versions.primary.accuracy), percent(j.versions.candidate.accuracy)]);
    const rowsCells = await page.locator("[data-table=versions] tr", { hasText: /^rows/ }).locator("td").allTextContents();
    assert.deepEqual(rowsCells, [j.versions.primary.rows.toLocaleString("en-US"), j.versions.candidate.rows.toLocaleString("en-US")]);
    assert.equal(await page.locator("[data-table=tests] [data-test=accuracy] [data-verdict]").textContent(), "worse");
    const events = await page.locator("[data-table=events] tbody tr").allTextContents();
    assert.ok(
      events.some((e) => e.includes("rolled back") && e.includes("monitor")),
      `the rollback by the monitor is listed (${events.join(" | ")})`,
    );
    assert.deepEqual(await page.locator("figure[data-chart]").evaluateAll((charts) => charts.map((c) => c.getAttribute("data-chart"))), [
      "Accuracy per monitor window",
      "Latency p95 per monitor window",
    ]);

    assert.deepEqual(await seriousViolations(page), []);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload({ waitUntil: "networkidle" });
    const widths = await pageOverflow(page);
    assert.ok(widths.scrollWidth <= widths.clientWidth, `the page fits a phone: ${widths.scrollWidth} px (${widths.culprits.join(", ")})`);
    assert.deepEqual(consoleErrors, []);
  });

  test("a prediction's page names a canary's answer as the canary's and lists a shadow's answer beside the client's", async () => {
    const one = async (where: string) => {
      const [row] = await store.engine.query<{ request_id: string }>(`SELECT request_id FROM predictions WHERE ${where} ORDER BY request_id LIMIT 1`);
      assert.ok(row, where);
      return row.request_id;
    };
    const detail = async (requestId: string) => {
      const response = await fetch(`${apiUrl}/api/v1/predictions/${requestId}/0`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(response.status, 200);
      return (await response.json()) as PredictionDetail;
    };
    await page.setViewportSize({ width: 1400, height: 900 });

    const canaryId = await one("model_name = 'flights' AND role = 'canary'");
    assert.deepEqual([(await detail(canaryId)).role, (await detail(canaryId)).version], ["canary", "2"]);
    await page.goto(`${dashboard.url}/predictions/${canaryId}/0`);
    assert.equal(await page.locator("[data-field=role]").textContent(), "the rollout's canary");

    const shadowedId = await one("model_name = 'shadowed' AND role = 'shadow'");
    const shadowed = await detail(shadowedId);
    assert.deepEqual([shadowed.role, shadowed.version, shadowed.shadows.length, shadowed.shadows[0]?.version], ["primary", "1", 1, "2"]);
    await page.goto(`${dashboard.url}/predictions/${shadowedId}/0`);
    const cells = await page.locator("[data-table=shadows] [data-shadow='2'] td").allTextContents();
    assert.deepEqual(cells.slice(0, 4), ["2", shadowed.shadows[0]!.status, shadowed.shadows[0]!.prediction, shadowed.shadows[0]!.confidence.toFixed(4)]);
    assert.deepEqual(await seriousViolations(page), []);
    assert.deepEqual(consoleErrors, []);
  });
});

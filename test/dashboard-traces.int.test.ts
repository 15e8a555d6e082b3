import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { predictionDetailSchema, predictionPageSchema, traceSchema, tracesSchema } from "@vigil/monitor";
import { type DashboardStack, dashboardStack } from "./support/dashboard-stack.js";

const SCREENSHOTS = join(import.meta.dirname, "..", "test-results", "screenshots");
const REFUSED = 5;
/** The range the pages default to, as the API reads it. */
const RANGE = "from=-1h&to=now";

/**
 * The Traces, Trace and Predictions pages in Chromium over the real stack: the filters list
 * exactly what the API returns for them, in its order; the chart opens traces; a trace links to
 * its prediction and the prediction back to the trace.
 */
describe("dashboard traces and predictions", () => {
  let stack: DashboardStack;

  const visit = async (path: string, shot?: string) => {
    const response = await stack.page.goto(`${stack.dashboard.url}${path}`, { waitUntil: "networkidle" });
    assert.equal(response?.status(), 200, `${path} answers 200`);
    if (shot) await stack.page.screenshot({ path: join(SCREENSHOTS, `${shot}.png`), fullPage: true });
  };
  /** The trace ids the Traces table links to, top to bottom. */
  const listedTraces = async () =>
    (await stack.page.locator("[data-table=traces] tbody tr td:first-child a").evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""))).map(
      (href) => /\/traces\/([0-9a-f]{32})/.exec(href)![1]!,
    );
  const column = (table: string, n: number) => stack.page.locator(`[data-table=${table}] tbody tr td:nth-child(${n})`).allTextContents();

  before(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    stack = await dashboardStack({ requests: 60, refused: REFUSED, token: "dashboard-traces-token" });
  });

  after(async () => {
    await stack?.close();
  });

  test("the status filter lists exactly the API's failed traces; times are UTC, not nanoseconds", async () => {
    await visit("/traces?status=error", "traces-failed");
    const expected = await stack.apiGet(tracesSchema, `/api/v1/traces?${RANGE}&status=ERROR&limit=200`);
    assert.equal(expected.length, REFUSED);
    assert.deepEqual(
      await listedTraces(),
      expected.map((t) => t.traceId),
    );
    assert.ok((await column("traces", 3)).every((s) => s === "INVALID_ARGUMENT"));
    const starts = await column("traces", 1);
    assert.ok(
      starts.every((s) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/.test(s)),
      starts.join(" | "),
    );
    assert.equal(starts[0], expected[0]!.start.replace("T", " ").slice(0, 23));
    assert.equal((await stack.page.textContent("[data-table=traces] th:first-child"))?.trim(), "start (UTC)");
    assert.equal(await stack.page.inputValue("[data-form=traces] select[name=status]"), "error");
  });

  test("a minimum duration lists the traces at least that long, slowest first, as the API does", async () => {
    const all = await stack.apiGet(tracesSchema, `/api/v1/traces?${RANGE}&model=flights&sort=slowest&limit=1000`);
    const minMs = all[7]!.durationMs;
    await visit(`/traces?model=flights&minMs=${minMs}`, "traces-slowest");
    const expected = await stack.apiGet(tracesSchema, `/api/v1/traces?${RANGE}&model=flights&minDurationMs=${minMs}&sort=slowest&limit=200`);
    assert.ok(expected.length >= 8 && expected.every((t) => t.durationMs >= minMs));
    assert.deepEqual(
      await listedTraces(),
      expected.map((t) => t.traceId),
    );
    const durations = (await column("traces", 4)).map(Number);
    assert.ok(
      durations.every((d, i) => i === 0 || d <= durations[i - 1]!),
      "slowest first",
    );
    assert.equal(await stack.page.inputValue("[data-form=traces] select[name=sort]"), "slowest");
    const models = await stack.page.locator("[data-form=traces] select[name=model] option").allTextContents();
    assert.deepEqual(models, ["any", "flights"]);

    await visit("/traces?sort=slowest");
    const [slowest] = await listedTraces();
    assert.equal(slowest, (await stack.apiGet(tracesSchema, `/api/v1/traces?${RANGE}&sort=slowest&limit=1`))[0]!.traceId);
  });

  test("the duration chart spans the range and a click on a dot opens that trace", async () => {
    await visit("/traces");
    const dots = stack.page.locator("[data-chart^='Trace duration'] .recharts-scatter-symbol");
    const traces = await stack.apiGet(tracesSchema, `/api/v1/traces?${RANGE}&sort=slowest&limit=500`);
    assert.equal(await dots.count(), traces.length);
    const label = await stack.page.getAttribute("[data-chart^='Trace duration'] [role=img]", "aria-label");
    assert.match(label ?? "", new RegExp(`${traces.length} traces from .* \\(UTC\\), ${REFUSED} failed`));
    await Promise.all([stack.page.waitForURL(/\/traces\/[0-9a-f]{32}$/), dots.first().click({ force: true })]);
    const opened = /\/traces\/([0-9a-f]{32})$/.exec(stack.page.url())![1]!;
    assert.ok(
      traces.some((t) => t.traceId === opened),
      "a trace the chart drew",
    );
  });

  test("a trace shows a ruler, its spans' attributes, and links to its prediction, which links back", async () => {
    const [newest] = await stack.apiGet(tracesSchema, `/api/v1/traces?${RANGE}&model=flights&status=ok&limit=1`);
    const trace = await stack.apiGet(traceSchema, `/api/v1/traces/${newest!.traceId}`);
    await visit(`/traces/${trace.traceId}?range=1h`, "trace-waterfall");
    const ticks = await stack.page.locator("[data-ruler] [data-tick]").allTextContents();
    assert.equal(ticks[0], "0 ms");
    assert.ok(ticks.length >= 2 && ticks.every((t) => / ms$/.test(t)));
    const names = await stack.page.locator("[data-table=waterfall] tbody tr summary").allTextContents();
    const flatten = (spans: typeof trace.spans): string[] => spans.flatMap((s) => [s.name, ...flatten(s.children)]);
    assert.deepEqual(names, flatten(trace.spans));
    const root = stack.page.locator("[data-table=waterfall] tbody tr").first();
    await root.locator("summary").click();
    assert.equal((await root.locator("[data-attribute='vigil.request_id'] dd").textContent())?.trim(), newest!.requestId);

    const link = stack.page.locator("[data-field=predictions] a");
    assert.equal(await link.count(), 1);
    await Promise.all([stack.page.waitForURL(/\/predictions\/.+\/0\?range=1h$/), link.click()]);
    await stack.page.waitForLoadState("networkidle");
    await stack.page.screenshot({ path: join(SCREENSHOTS, "prediction-inputs.png"), fullPage: true });
    const detail = await stack.apiGet(predictionDetailSchema, `/api/v1/predictions/${encodeURIComponent(newest!.requestId)}/0`);
    for (const input of detail.inputs) {
      const cells = await stack.page.locator(`[data-input='${input.name}'] td`).allTextContents();
      assert.deepEqual(cells, [input.name, input.category ?? "", String(input.value)]);
    }
    assert.ok(
      detail.inputs.some((i) => i.category !== null && i.category !== String(i.value)),
      "some input shown by its category name",
    );
    await Promise.all([stack.page.waitForURL(/\/traces\/[0-9a-f]{32}\?range=1h$/), stack.page.click("text=the request's trace")]);
    assert.match(stack.page.url(), new RegExp(`/traces/${trace.traceId}\\?range=1h$`), "back to the same trace, range kept");
  });

  test("predictions: the status dropdown takes any case, and wrong-only lists the API's wrong predictions", async () => {
    await visit("/predictions?status=ok");
    assert.equal(await stack.page.inputValue("[data-form=predictions] select[name=status]"), "OK");
    const okRows = await stack.apiGet(predictionPageSchema, `/api/v1/predictions?${RANGE}&status=OK&limit=50`);
    assert.deepEqual(
      await column("predictions", 2),
      okRows.rows.map((r) => r.requestId),
    );

    await visit("/predictions?wrong=true", "predictions-wrong");
    const wrong = await stack.apiGet(predictionPageSchema, `/api/v1/predictions?${RANGE}&wrong=true&limit=50`);
    assert.ok(wrong.rows.length > 0, "the demo model gets some wrong");
    assert.deepEqual(
      await column("predictions", 2),
      wrong.rows.map((r) => r.requestId),
    );
    const predicted = await column("predictions", 5);
    const labels = await column("predictions", 7);
    assert.ok(predicted.every((p, i) => p !== labels[i]));
    assert.equal(await stack.page.isChecked("[data-form=predictions] input[name=wrong]"), true);
  });

  test("the table sorts by a column and filters by text in the browser", async () => {
    await visit("/predictions");
    const latencyHeader = stack.page.locator("[data-table=predictions] th", { hasText: "latency (ms)" });
    await latencyHeader.locator("button").click();
    assert.equal(await latencyHeader.getAttribute("aria-sort"), "descending");
    const latencies = (await column("predictions", 8)).map(Number);
    assert.deepEqual(
      latencies,
      [...latencies].sort((a, b) => b - a),
    );
    await stack.page.fill("[data-filter=predictions]", "refused-");
    const ids = await column("predictions", 2);
    assert.deepEqual(ids.sort(), [...stack.refusedIds].sort());
  });

  test("no page logged an error", () => {
    assert.deepEqual(stack.consoleErrors, []);
  });
});

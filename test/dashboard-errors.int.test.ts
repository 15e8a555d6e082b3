import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { tracesSchema } from "@vigil/monitor";
import { type DashboardStack, dashboardStack } from "./support/dashboard-stack.js";

/**
 * The dashboard's error pages in Chromium over the real stack: an address that names nothing is
 * a 404 that says why, a query parameter the page cannot use a 400 that says which and links to
 * the page without it; neither is ever a 500.
 */
describe("dashboard error pages", () => {
  let stack: DashboardStack;

  /** Opens a page in the logged-in browser: its HTTP status and what it says is wrong. */
  const open = async (path: string) => {
    const response = await stack.page.goto(`${stack.dashboard.url}${path}`, { waitUntil: "load" });
    const problem = await stack.page.locator("[data-problem]").first().textContent({ timeout: 5000 });
    return { status: response?.status(), problem: problem?.trim() ?? "" };
  };

  before(async () => {
    stack = await dashboardStack({ requests: 20, refused: 1, token: "dashboard-errors-token" });
  });

  after(async () => {
    await stack?.close();
  });

  test("unknown and malformed ids, and an unknown model, answer 404 with an explanation", async () => {
    const unknownTrace = "0123456789abcdef0123456789abcdef";
    const cases: Array<[string, RegExp]> = [
      [`/traces/${unknownTrace}`, new RegExp(`No trace ${unknownTrace} is stored`)],
      ["/traces/not-a-trace", /"not-a-trace" is not a trace id: a trace id is 32 lowercase hexadecimal digits/],
      ["/predictions/no-such-request/0", /The prediction log has no row 0 of request "no-such-request"/],
      ["/predictions/no-such-request/first", /"first" is not a row number/],
      ["/models/no-such-model", /The monitor knows no model named "no-such-model"/],
      ["/models/flights/drift?version=9", /The model repository holds no version 9 of model "flights"/],
      ["/no-such-page", /There is no page at \/no-such-page/],
    ];
    for (const [path, explanation] of cases) {
      const { status, problem } = await open(path);
      assert.equal(status, 404, path);
      assert.match(problem, explanation, path);
      assert.equal(await stack.page.title(), "Not found · Vigil", path);
    }
    // A stored trace's page answers: the 404s were about the ids.
    const [stored] = await stack.apiGet(tracesSchema, "/api/v1/traces?from=-1h&to=now&limit=1");
    assert.equal((await stack.page.goto(`${stack.dashboard.url}/traces/${stored!.traceId}`))?.status(), 200);
  });

  test("a bad range or filter answers 400, names the parameter, and links to the page without it", async () => {
    const cases: Array<[string, RegExp, string]> = [
      ["/?range=banana", /range "banana" is not one of 15m, 1h, 6h, 24h, 7d/, "/"],
      ["/traces?range=banana&status=ok", /range "banana"/, "/traces?status=ok"],
      ["/models/flights?from=yesterday&to=today", /"from" and "to" must both be instants/, "/models/flights"],
      ["/traces?status=weird", /status "weird" is not one of OK, ERROR, CANCELLED, .*INVALID_ARGUMENT/, "/traces"],
      ["/predictions?status=BOGUS&model=flights", /status "BOGUS" is not one of/, "/predictions?model=flights"],
      ["/traces?minMs=-5", /minMs "-5" is not a duration in milliseconds/, "/traces"],
      ["/traces?sort=fastest", /sort "fastest" is not one of slowest, newest/, "/traces"],
      ["/predictions?wrong=maybe", /wrong "maybe" is not one of true, false/, "/predictions"],
    ];
    for (const [path, message, sane] of cases) {
      const { status, problem } = await open(path);
      assert.equal(status, 400, path);
      assert.match(problem, message, path);
      assert.equal(await stack.page.title(), "Bad request · Vigil", path);
      const link = stack.page.locator("a", { hasText: "Open this page without it" });
      assert.equal(await link.getAttribute("href"), sane, path);
      const [followed] = await Promise.all([stack.page.waitForNavigation(), link.click()]);
      assert.equal(followed?.status(), 200, `${sane} works`);
    }
    // Filters a page understands pass untouched, in any case the API accepts.
    assert.equal((await stack.page.goto(`${stack.dashboard.url}/predictions?status=ok&wrong=true`))?.status(), 200);
  });

  test("the 400 answer carries the dashboard's security headers", async () => {
    const response = await fetch(`${stack.dashboard.url}/traces?status=weird`);
    assert.equal(response.status, 400);
    assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    assert.equal(response.headers.get("x-frame-options"), "DENY");
    assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
  });
});

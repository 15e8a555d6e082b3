import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startMonitorApi } from "@vigil/monitor";
import type { Store } from "@vigil/store";
import { type DashboardProcess, startDashboardProcess } from "./support/dashboard.js";
import { openTestStore } from "./support/recording.js";
import { tempDir } from "./support/store.js";

const PASSWORD = "correct horse battery";
const TOKEN = "dashboard-security-token";
const SECRET = "a-known-session-key-for-this-test";

/** The dashboard attacked from outside: forged requests, framing, guessing, forged and stolen cookies. */
describe("dashboard security", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  let api: Awaited<ReturnType<typeof startMonitorApi>>;
  let dashboard: DashboardProcess;
  let origin: string;

  before(async () => {
    dirs = await tempDir("vigil-dashboard-security-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    await store.ready();
    api = await startMonitorApi({ engine: store.engine, host: "127.0.0.1", port: 0, tokens: [TOKEN], models: async () => undefined, slos: [] });
    dashboard = await startDashboardProcess({ apiUrl: api.url, apiToken: TOKEN, password: PASSWORD, env: { VIGIL_DASHBOARD_SECRET: SECRET } });
    origin = dashboard.url;
  });
  after(async () => {
    await dashboard?.stop();
    await api?.close();
    await store?.close();
    await dirs?.remove();
  });

  const login = (password: string, headers: Record<string, string> = {}) =>
    fetch(`${origin}/api/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin, "x-forwarded-for": "198.51.100.7", ...headers },
      body: new URLSearchParams({ password }).toString(),
    });
  const sessionOf = (response: Response) => /vigil_session=([^;]+)/.exec(response.headers.get("set-cookie") ?? "")?.[1];
  const pageStatus = async (cookie: string) => (await fetch(`${origin}/alerts`, { redirect: "manual", headers: { cookie: `vigil_session=${cookie}` } })).status;

  test("every response forbids framing, sniffing and foreign content", async () => {
    for (const path of ["/login", "/alerts"]) {
      const response = await fetch(`${origin}${path}`, { redirect: "manual" });
      const csp = response.headers.get("content-security-policy") ?? "";
      assert.match(csp, /frame-ancestors 'none'/, `${path} CSP`);
      assert.match(csp, /default-src 'self'/, `${path} CSP`);
      assert.equal(response.headers.get("x-frame-options"), "DENY");
      assert.equal(response.headers.get("x-content-type-options"), "nosniff");
      assert.equal(response.headers.get("referrer-policy"), "same-origin");
    }
  });

  test("state-changing routes refuse requests from another site or with another content type, even with the session cookie", async () => {
    const session = sessionOf(await login(PASSWORD, { "x-forwarded-for": "198.51.100.1" }))!;
    assert.ok(session, "logged in");
    const silence = JSON.stringify({ matchers: ['alertname=~".+"'], duration: "168h", comment: "forged", createdBy: "attacker" });
    const post = (headers: Record<string, string>) =>
      fetch(`${origin}/api/silences`, { method: "POST", headers: { cookie: `vigil_session=${session}`, ...headers }, body: silence });
    assert.equal((await post({ "content-type": "text/plain", origin: "http://evil.example" })).status, 403, "text/plain from a foreign origin");
    assert.equal((await post({ "content-type": "application/json", origin: "http://evil.example" })).status, 403, "JSON from a foreign origin");
    assert.equal((await post({ "content-type": "application/json", origin, "sec-fetch-site": "cross-site" })).status, 403, "a cross-site fetch");
    assert.equal((await post({ "content-type": "text/plain", origin })).status, 415, "text/plain from the dashboard itself");
    const remove = await fetch(`${origin}/api/silences/any-id`, {
      method: "DELETE",
      headers: { cookie: `vigil_session=${session}`, origin: "http://evil.example" },
    });
    assert.equal(remove.status, 403, "DELETE from a foreign origin");
    assert.equal((await login(PASSWORD, { origin: "http://evil.example", "x-forwarded-for": "198.51.100.2" })).status, 403, "a login posted from another site");
    const created = await post({ "content-type": "application/json", origin });
    assert.equal(created.status, 200, "the dashboard's own request works");
    const silences = (await (await fetch(`${api.url}/api/v1/silences`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as unknown[];
    assert.equal(silences.length, 1, "only the legitimate silence exists");
  });

  test("wrong passwords are throttled: once locked, even the right password waits for Retry-After", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await login("wrong password")).status);
    assert.deepEqual(statuses, [303, 303, 303, 303, 303], "the first five go back to the form");
    assert.equal((await login("wrong password")).status, 303, "the sixth is counted and locks the client");
    const locked = await login(PASSWORD);
    assert.equal(locked.status, 429);
    const retryAfter = Number(locked.headers.get("retry-after"));
    assert.ok(retryAfter >= 1, `Retry-After ${retryAfter}`);
    assert.equal((await login(PASSWORD, { "x-forwarded-for": "198.51.100.99" })).status, 303, "another client is not locked out");
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 100));
    const after = await login(PASSWORD);
    assert.deepEqual([after.status, after.headers.get("location")], [303, "/"], "after the wait the right password works");
  });

  test("cookies: a forged far-future expiry is refused even when signed with the key; logging out revokes the cookie itself", async () => {
    const forged = (expires: number) => {
      const payload = `${expires}.${"A".repeat(16)}`;
      return `${payload}.${createHmac("sha256", SECRET).update(payload).digest("base64url")}`;
    };
    assert.equal(await pageStatus(forged(Date.now() + 3_600_000)), 200, "a correctly signed session within the cap works");
    assert.equal(await pageStatus(forged(253_402_214_400_000)), 307, "expiry 9999-12-31 is refused");
    const session = sessionOf(await login(PASSWORD, { "x-forwarded-for": "198.51.100.3" }))!;
    assert.equal(await pageStatus(session), 200);
    const logout = await fetch(`${origin}/api/logout`, { method: "POST", redirect: "manual", headers: { cookie: `vigil_session=${session}`, origin } });
    assert.deepEqual([logout.status, logout.headers.get("location")], [303, "/login"]);
    assert.match(logout.headers.get("set-cookie") ?? "", /vigil_session=;/, "the browser's cookie is cleared");
    assert.equal(await pageStatus(session), 307, "a copy of the logged-out cookie is refused");
  });
});

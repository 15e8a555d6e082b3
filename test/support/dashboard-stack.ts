import type { Browser, Page } from "playwright-core";
import type { startMonitorApi } from "@vigil/monitor";
import { collectPageErrors, launchChromium, logIn } from "./browser.js";
import { type DashboardProcess, startDashboardProcess } from "./dashboard.js";
import { type DemoTraffic, demoTraffic } from "./demo-traffic.js";
import { refusedRequests } from "./refused-requests.js";

export interface DashboardStack {
  traffic: DemoTraffic;
  /** Request ids of the refused requests. */
  refusedIds: string[];
  api: Awaited<ReturnType<typeof startMonitorApi>>;
  dashboard: DashboardProcess;
  browser: Browser;
  /** Logged in. */
  page: Page;
  /** A monitor API response, parsed through its schema. */
  apiGet: <T>(schema: { parse(value: unknown): T }, path: string) => Promise<T>;
  /** Errors the pages logged to the console or threw. */
  consoleErrors: string[];
  close: () => Promise<void>;
}

const PASSWORD = "correct horse battery";

/**
 * The whole stack a dashboard test drives: demo traffic (with `refused` requests the model
 * refuses) in an embedded store, the monitor API over it, the dashboard's production build, and
 * Debian's Chromium logged in to it. `close` stops all of it, whatever was started.
 */
export async function dashboardStack(options: { requests: number; refused: number; token: string }): Promise<DashboardStack> {
  const stops: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const traffic = await demoTraffic(options.requests);
    stops.push(() => traffic.close());
    const refusedIds = await refusedRequests(traffic, options.refused);
    const api = await traffic.startApi(options.token);
    stops.push(() => api.close());
    const dashboard = await startDashboardProcess({ apiUrl: api.url, apiToken: options.token, password: PASSWORD });
    stops.push(() => dashboard.stop());
    const browser = await launchChromium();
    stops.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const consoleErrors = collectPageErrors(page);
    await logIn(page, dashboard.url, PASSWORD);
    const apiGet = async <T>(schema: { parse(value: unknown): T }, path: string): Promise<T> =>
      schema.parse(await (await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${options.token}` } })).json());
    return { traffic, refusedIds, api, dashboard, browser, page, apiGet, consoleErrors, close };
  } catch (error) {
    await close();
    throw error;
  }
}

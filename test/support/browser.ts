import { type Browser, type Page, chromium } from "playwright-core";

/** Debian's Chromium, headless, with no traffic of its own (updates, first-run pages, background fetches). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
}

/** Records, into the returned list, every console error and uncaught exception of `page`, with the address it happened on. */
export function collectPageErrors(page: Page, into: string[] = []): string[] {
  page.on("console", (m) => {
    if (m.type() === "error") into.push(`${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => into.push(`${page.url()}: ${e.message}`));
  return into;
}

/** Logs in to the dashboard at `dashboardUrl` through its form; resolves once the Overview is shown. */
export async function logIn(page: Page, dashboardUrl: string, password: string): Promise<void> {
  await page.goto(`${dashboardUrl}/login`);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForURL(`${dashboardUrl}/`), page.click("button[type=submit]")]);
}

import assert from "node:assert/strict";
import axe from "axe-core";
import type { Page } from "playwright-core";

/** The little of the DOM the functions run in the page use: the test project compiles without DOM types. */
interface PageElement {
  tagName: string;
  className: unknown;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { right: number };
  parentElement: PageElement | null;
}
declare const window: { axe: typeof axe };
declare const document: {
  scrollingElement: { scrollWidth: number; clientWidth: number } | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
};

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** axe-core's serious and critical findings on the page as it is now, one line per rule with the elements it names. */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axe.source });
  const { violations, passed } = await page.evaluate(async () => {
    const result = await window.axe.run(document as unknown as Parameters<typeof axe.run>[0], { resultTypes: ["violations"] });
    return {
      violations: result.violations.map((v) => ({
        id: v.id,
        impact: v.impact ?? null,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.map(String) })),
      })),
      passed: result.passes.length,
    };
  });
  assert.ok(passed >= 10, `axe ran its rules over the page (${passed} passed)`);
  return (violations as AxeViolation[])
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** How wide the page is against its viewport, and the outermost elements that reach past it (named so the page's owner can find them). */
export function pageOverflow(page: Page): Promise<{ scrollWidth: number; clientWidth: number; culprits: string[] }> {
  return page.evaluate(() => {
    const root = document.scrollingElement!;
    const limit = root.clientWidth + 1;
    const culprits = Array.from(document.querySelectorAll("body *"))
      .filter((e) => e.getBoundingClientRect().right > limit && (e.parentElement?.getBoundingClientRect().right ?? 0) <= limit)
      .slice(0, 3)
      .map((e) => {
        const marker = e.getAttribute("data-table") ?? e.getAttribute("data-chart");
        const classes = typeof e.className === "string" && e.className ? `.${e.className.split(" ").join(".")}` : "";
        return `${e.tagName.toLowerCase()}${classes}${marker ? `[${marker}]` : ""}`;
      });
    return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, culprits };
  });
}

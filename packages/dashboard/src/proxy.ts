import { type NextRequest, NextResponse } from "next/server";
import { parameterProblem } from "@/lib/page-params";

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A page's query parameters are checked here, before the page runs, because a page cannot set
 * its own HTTP status: an unreadable range or filter gets a 400 that says what is wrong and links
 * to the same page without it, instead of a page quietly showing something else.
 */
export function proxy(request: NextRequest) {
  const problem = parameterProblem(request.nextUrl.pathname, request.nextUrl.searchParams);
  if (!problem) return NextResponse.next();
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bad request · Vigil</title>
<style>body{font-family:system-ui,sans-serif;margin:0;padding:32px 16px;color:#111827;background:#f9fafb}main{max-width:640px;margin:auto;background:#fff;border:1px solid #d1d5db;border-radius:6px;padding:16px}a{color:#1d4ed8}</style>
</head><body><main data-status="400">
<h1>Bad request</h1>
<p data-problem>${escapeHtml(problem.message)}.</p>
<p><a href="${escapeHtml(problem.saneUrl)}">Open this page without it</a> · <a href="/">Overview</a></p>
</main></body></html>`;
  return new NextResponse(html, { status: 400, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
}

export const config = {
  // Pages only: not the dashboard's own API routes, Next's assets or the login form.
  matcher: ["/((?!api/|_next/|login|icon.svg|favicon.ico).*)"],
};

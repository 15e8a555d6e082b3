import { NextResponse } from "next/server";

/**
 * Routes that change state run on the session cookie, so a page on another site could forge
 * them: a form, or a fetch with a "simple" content type, is sent without a CORS preflight.
 * They accept only what the dashboard's own pages send: a same-origin request (by Origin and,
 * where the browser sends it, Sec-Fetch-Site) with the content type the route expects.
 */
export function refuseForeignRequest(request: Request, contentType?: string): NextResponse | undefined {
  const origin = request.headers.get("origin");
  const fetchSite = request.headers.get("sec-fetch-site");
  const ownHost = request.headers.get("x-forwarded-host") ?? request.headers.get("host");
  const foreignOrigin = origin !== null && hostOf(origin) !== ownHost;
  const foreignSite = fetchSite !== null && fetchSite !== "same-origin" && fetchSite !== "none";
  if (foreignOrigin || foreignSite) return NextResponse.json({ error: "cross-site request refused: use the dashboard's own pages" }, { status: 403 });
  if (contentType !== undefined && !(request.headers.get("content-type") ?? "").startsWith(contentType)) {
    return NextResponse.json({ error: `send ${contentType}` }, { status: 415 });
  }
  return undefined;
}

/** The host:port of an Origin header; undefined for "null" and anything that is not a URL. */
function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

import { NextResponse } from "next/server";
import { BodyTooLargeError, readBodyCapped } from "@/lib/http";
import { loginRetryAfterMs, recordLoginFailure, recordLoginSuccess } from "@/lib/login-throttle";
import { refuseForeignRequest } from "@/lib/request-guard";
import { SESSION_COOKIE, newSession, passwordMatches } from "@/lib/session";

/** A login form holds one password; anything bigger is not a login. */
const MAX_LOGIN_BODY = 4096;

const seeOther = (location: string) => new NextResponse(null, { status: 303, headers: { location } });

/** The client a login attempt is counted against: the first forwarded address, as the server saw it. */
const clientOf = (request: Request) => request.headers.get("x-forwarded-for")?.split(",")[0]?.trim() || "unknown";

/**
 * The login form's target (a plain HTML form post, so it works without JavaScript). Wrong or
 * missing passwords go back to the form; malformed or foreign requests get a 4xx and never a
 * session; repeated failures are throttled (429 with Retry-After).
 */
export async function POST(request: Request) {
  const refused = refuseForeignRequest(request, "application/x-www-form-urlencoded");
  if (refused) return refused;
  let body: string;
  try {
    body = await readBodyCapped(request, MAX_LOGIN_BODY);
  } catch (error) {
    if (error instanceof BodyTooLargeError) return NextResponse.json({ error: `a login is at most ${MAX_LOGIN_BODY} bytes` }, { status: 413 });
    throw error;
  }
  const client = clientOf(request);
  const waitMs = loginRetryAfterMs(client);
  if (waitMs > 0) {
    const seconds = Math.ceil(waitMs / 1000);
    return NextResponse.json({ error: `too many wrong passwords: try again in ${seconds} s` }, { status: 429, headers: { "retry-after": String(seconds) } });
  }
  if (!passwordMatches(new URLSearchParams(body).get("password") ?? "")) {
    recordLoginFailure(client);
    return seeOther("/login?error=1");
  }
  recordLoginSuccess(client);
  const session = newSession();
  const response = seeOther("/");
  response.cookies.set(SESSION_COOKIE, session.value, { httpOnly: true, sameSite: "lax", path: "/", expires: session.expires });
  return response;
}

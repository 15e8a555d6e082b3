import { NextResponse } from "next/server";
import { BodyTooLargeError, readBodyCapped } from "@/lib/http";
import { SESSION_COOKIE, newSession, passwordMatches } from "@/lib/session";

/** A login form holds one password; anything bigger is not a login. */
const MAX_LOGIN_BODY = 4096;

const seeOther = (location: string) => new NextResponse(null, { status: 303, headers: { location } });

/**
 * The login form's target (a plain HTML form post, so it works without JavaScript). Wrong or
 * missing passwords go back to the form; malformed requests get a 4xx and never a session.
 */
export async function POST(request: Request) {
  if (!(request.headers.get("content-type") ?? "").startsWith("application/x-www-form-urlencoded")) {
    return NextResponse.json({ error: "send the login form as application/x-www-form-urlencoded" }, { status: 415 });
  }
  let body: string;
  try {
    body = await readBodyCapped(request, MAX_LOGIN_BODY);
  } catch (error) {
    if (error instanceof BodyTooLargeError) return NextResponse.json({ error: `a login is at most ${MAX_LOGIN_BODY} bytes` }, { status: 413 });
    throw error;
  }
  if (!passwordMatches(new URLSearchParams(body).get("password") ?? "")) return seeOther("/login?error=1");
  const session = newSession();
  const response = seeOther("/");
  response.cookies.set(SESSION_COOKIE, session.value, { httpOnly: true, sameSite: "lax", path: "/", expires: session.expires });
  return response;
}

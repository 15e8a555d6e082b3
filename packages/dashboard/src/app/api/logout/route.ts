import { NextResponse } from "next/server";
import { refuseForeignRequest } from "@/lib/request-guard";
import { cookies } from "next/headers";
import { SESSION_COOKIE, revokeSession } from "@/lib/session";

/** Ends the browser's session: the cookie is cleared and refused from now on; the next page asks for the password. */
export async function POST(request: Request) {
  const refused = refuseForeignRequest(request);
  if (refused) return refused;
  revokeSession((await cookies()).get(SESSION_COOKIE)?.value);
  const response = new NextResponse(null, { status: 303, headers: { location: "/login" } });
  response.cookies.set(SESSION_COOKIE, "", { httpOnly: true, sameSite: "lax", path: "/", expires: new Date(0) });
  return response;
}

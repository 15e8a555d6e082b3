import { NextResponse } from "next/server";
import { ApiError, api } from "@/lib/api";
import { hasSession } from "@/lib/session";

/** Creates a silence for the browser, which has a session but not the API token. */
export async function POST(request: Request) {
  if (!(await hasSession())) return NextResponse.json({ error: "log in first" }, { status: 401 });
  const body = await request.text();
  if (body.length > 16_384) return NextResponse.json({ error: "body too large" }, { status: 413 });
  try {
    return NextResponse.json(await api("/api/v1/silences", { method: "POST", body }));
  } catch (error) {
    return NextResponse.json({ error: (error as Error).message }, { status: error instanceof ApiError ? error.status : 502 });
  }
}

export async function GET() {
  if (!(await hasSession())) return NextResponse.json({ error: "log in first" }, { status: 401 });
  return NextResponse.json(await api("/api/v1/silences"));
}

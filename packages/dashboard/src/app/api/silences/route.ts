import { NextResponse } from "next/server";
import { ApiError, callApi } from "@/lib/api";
import { BodyTooLargeError, readBodyCapped } from "@/lib/http";
import { refuseForeignRequest } from "@/lib/request-guard";
import { hasSession } from "@/lib/session";

const MAX_SILENCE_BODY = 16_384;

/** Creates a silence for the browser, which has a session but not the API token. */
export async function POST(request: Request) {
  if (!(await hasSession())) return NextResponse.json({ error: "log in first" }, { status: 401 });
  const refused = refuseForeignRequest(request, "application/json");
  if (refused) return refused;
  try {
    const body = await readBodyCapped(request, MAX_SILENCE_BODY);
    return NextResponse.json(await callApi("/api/v1/silences", { method: "POST", body }));
  } catch (error) {
    const status = error instanceof BodyTooLargeError ? 413 : error instanceof ApiError ? error.status : 502;
    return NextResponse.json({ error: (error as Error).message }, { status });
  }
}

export async function GET() {
  if (!(await hasSession())) return NextResponse.json({ error: "log in first" }, { status: 401 });
  return NextResponse.json(await callApi("/api/v1/silences"));
}

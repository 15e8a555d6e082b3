import { NextResponse } from "next/server";
import { ApiError, callApi } from "@/lib/api";
import { refuseForeignRequest } from "@/lib/request-guard";
import { hasSession } from "@/lib/session";

export async function DELETE(request: Request, { params }: { params: Promise<{ id: string }> }) {
  if (!(await hasSession())) return NextResponse.json({ error: "log in first" }, { status: 401 });
  const refused = refuseForeignRequest(request);
  if (refused) return refused;
  const { id } = await params;
  try {
    return NextResponse.json(await callApi(`/api/v1/silences/${encodeURIComponent(id)}`, { method: "DELETE" }));
  } catch (error) {
    return NextResponse.json({ error: (error as Error).message }, { status: error instanceof ApiError ? error.status : 502 });
  }
}

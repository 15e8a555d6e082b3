import { NextResponse } from "next/server";
import { ApiError, api } from "@/lib/api";
import { hasSession } from "@/lib/session";

export async function DELETE(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  if (!(await hasSession())) return NextResponse.json({ error: "log in first" }, { status: 401 });
  const { id } = await params;
  try {
    return NextResponse.json(await api(`/api/v1/silences/${encodeURIComponent(id)}`, { method: "DELETE" }));
  } catch (error) {
    return NextResponse.json({ error: (error as Error).message }, { status: error instanceof ApiError ? error.status : 502 });
  }
}

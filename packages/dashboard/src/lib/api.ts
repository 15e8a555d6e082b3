import { dashboardConfig } from "./dashboard-env";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Calls the monitor API from the server, with the dashboard's token; the browser never sees it. */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const { apiUrl, apiToken } = dashboardConfig();
  const response = await fetch(`${apiUrl}${path}`, {
    ...init,
    cache: "no-store",
    headers: { authorization: `Bearer ${apiToken}`, ...(init.body ? { "content-type": "application/json" } : {}), ...init.headers },
  });
  const body = (await response.json().catch(() => ({}))) as T & { error?: string };
  if (!response.ok) throw new ApiError(response.status, body.error ?? `monitor API answered HTTP ${response.status} for ${path}`);
  return body;
}

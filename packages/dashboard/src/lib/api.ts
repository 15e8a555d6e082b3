import { notFound } from "next/navigation";
import { dashboardConfig } from "./dashboard-env";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Calls the monitor API from the server, with the dashboard's token; the browser never sees it.
 * Every answer but a 2xx is an ApiError carrying the API's status and message, for the route
 * handlers that pass both on to the browser.
 */
export async function callApi<T>(path: string, init: RequestInit = {}): Promise<T> {
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

/**
 * The monitor API for pages: a 404 (an unknown model, trace, prediction or SLO) becomes Next's
 * notFound(), so the page answers HTTP 404 with the nearest not-found explanation instead of
 * failing as a server error. Other failures stay ApiErrors.
 */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  try {
    return await callApi<T>(path, init);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) notFound();
    throw error;
  }
}

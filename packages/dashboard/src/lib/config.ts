import { randomBytes } from "node:crypto";

export interface DashboardConfig {
  apiUrl: string;
  apiToken: string;
  password: string;
  /** Key that signs session cookies. */
  sessionSecret: string;
}

let cached: DashboardConfig | undefined;

/** The dashboard's settings from the environment, checked once with a message naming what is missing. */
export function dashboardConfig(env: NodeJS.ProcessEnv = process.env): DashboardConfig {
  if (cached) return cached;
  const problems: string[] = [];
  const apiUrl = env.VIGIL_API_URL ?? "http://127.0.0.1:8003";
  try {
    new URL(apiUrl);
  } catch {
    problems.push(`VIGIL_API_URL "${apiUrl}" is not a URL`);
  }
  const apiToken = env.VIGIL_API_TOKEN ?? "";
  if (!apiToken) problems.push("VIGIL_API_TOKEN is not set (a token the monitor API accepts)");
  const password = env.VIGIL_DASHBOARD_PASSWORD ?? "";
  if (password.length < 8) problems.push("VIGIL_DASHBOARD_PASSWORD must be set, at least 8 characters (the login)");
  if (problems.length > 0) throw new Error(`dashboard config is invalid:\n  - ${problems.join("\n  - ")}`);
  // Without a configured key, a random one per process: nothing guessable signs the cookies, and
  // a restart logs everyone out (set VIGIL_DASHBOARD_SECRET to keep sessions across restarts).
  const sessionSecret = env.VIGIL_DASHBOARD_SECRET || randomBytes(32).toString("hex");
  cached = { apiUrl: apiUrl.replace(/\/$/, ""), apiToken, password, sessionSecret };
  return cached;
}

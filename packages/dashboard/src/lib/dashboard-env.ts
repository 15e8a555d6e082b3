import { randomBytes } from "node:crypto";
import { z } from "zod";
import { processWide } from "./process-wide";

export interface DashboardConfig {
  apiUrl: string;
  apiToken: string;
  password: string;
  /** Key that signs session cookies. */
  sessionSecret: string;
}

/** The dashboard's environment, the only place it reads process.env. */
const dashboardEnvSchema = z.object({
  VIGIL_API_URL: z.url({ message: "must be the monitor API's URL, e.g. http://127.0.0.1:8003" }).default("http://127.0.0.1:8003"),
  VIGIL_API_CLIENT_TOKEN: z.string({ message: "must be set: a token the monitor API accepts" }).min(1, "must be set: a token the monitor API accepts"),
  VIGIL_DASHBOARD_PASSWORD: z.string({ message: "must be set (the login)" }).min(8, "must be at least 8 characters (the login)"),
  VIGIL_DASHBOARD_SECRET: z.string().optional(),
});

/** The dashboard's settings from the environment, validated once per process with a message naming each wrong variable. */
export function dashboardConfig(): DashboardConfig {
  return processWide("config", () => readDashboardEnv(process.env));
}

function readDashboardEnv(env: NodeJS.ProcessEnv): DashboardConfig {
  // The token's old name still works, with a warning, until deployments have moved to the new one.
  const legacyToken = env.VIGIL_API_TOKEN;
  if (legacyToken !== undefined) console.warn("vigil dashboard: VIGIL_API_TOKEN is deprecated; set VIGIL_API_CLIENT_TOKEN instead");
  const parsed = dashboardEnvSchema.safeParse({ ...env, VIGIL_API_CLIENT_TOKEN: env.VIGIL_API_CLIENT_TOKEN ?? legacyToken });
  if (!parsed.success) throw new Error(`dashboard environment is invalid:\n${z.prettifyError(parsed.error)}`);
  const { VIGIL_API_URL, VIGIL_API_CLIENT_TOKEN, VIGIL_DASHBOARD_PASSWORD, VIGIL_DASHBOARD_SECRET } = parsed.data;
  // Without a configured key, a random one per process: nothing guessable signs the cookies, and
  // a restart logs everyone out (set VIGIL_DASHBOARD_SECRET to keep sessions across restarts).
  const sessionSecret = VIGIL_DASHBOARD_SECRET || randomBytes(32).toString("hex");
  return { apiUrl: VIGIL_API_URL.replace(/\/$/, ""), apiToken: VIGIL_API_CLIENT_TOKEN, password: VIGIL_DASHBOARD_PASSWORD, sessionSecret };
}

import { existsSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { type StartedProcess, startProcess } from "./processes.js";
import { eventually } from "./store.js";

export const DASHBOARD_DIR = join(import.meta.dirname, "..", "..", "packages", "dashboard");

export interface DashboardProcess extends StartedProcess {
  url: string;
}

/**
 * The dashboard's production build (`next build`, done by the workspace build) served by `next
 * start` on a free port, reading the monitor API at `apiUrl`; resolves once it answers. The
 * caller stops it (its suite's `after`).
 */
export async function startDashboardProcess(options: {
  apiUrl: string;
  apiToken: string;
  password: string;
  env?: NodeJS.ProcessEnv;
}): Promise<DashboardProcess> {
  if (!existsSync(join(DASHBOARD_DIR, ".next", "BUILD_ID"))) throw new Error("the dashboard is not built: run `pnpm build` (npm test does)");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = startProcess(
    process.execPath,
    [join(DASHBOARD_DIR, "node_modules", "next", "dist", "bin", "next"), "start", "-p", String(port), "-H", "127.0.0.1"],
    {
      cwd: DASHBOARD_DIR,
      env: {
        ...process.env,
        NEXT_TELEMETRY_DISABLED: "1",
        VIGIL_API_URL: options.apiUrl,
        VIGIL_API_CLIENT_TOKEN: options.apiToken,
        VIGIL_DASHBOARD_PASSWORD: options.password,
        ...options.env,
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  await eventually(
    async () =>
      fetch(`${url}/login`).then(
        (r) => r.status,
        () => 0,
      ),
    (s) => s === 200,
    "next start to serve",
  );
  return { ...started, url };
}

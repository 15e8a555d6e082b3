import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const DASHBOARD_DIR = fileURLToPath(new URL("../../dashboard", import.meta.url));
const NEXT = join(DASHBOARD_DIR, "node_modules", "next", "dist", "bin", "next");

export interface RunningDashboard {
  url: string;
  password: string;
  stop(): Promise<void>;
}

export interface DashboardOptions {
  apiUrl: string;
  apiToken: string;
  port: number;
  host: string;
  /** The login; generated for this run when absent. */
  password?: string;
  /** The session cookie key; the dashboard derives one from the password and token when absent. */
  secret?: string;
  onLine?: (line: string) => void;
}

/**
 * Starts the dashboard's production server (`next start`) against a monitor API, building it
 * first when no build exists.
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };
  if (!existsSync(join(DASHBOARD_DIR, ".next", "BUILD_ID"))) {
    options.onLine?.("building the dashboard (next build, about a minute) ...");
    const build = spawnSync(process.execPath, [NEXT, "build"], { cwd: DASHBOARD_DIR, env, stdio: "inherit" });
    if (build.status !== 0) throw new Error(`the dashboard build failed (next build exited ${build.status}); run it in ${DASHBOARD_DIR} to see why`);
  }
  const password = options.password ?? randomBytes(9).toString("base64url");
  // The variables the dashboard's own config reads (packages/dashboard/src/lib/config.ts).
  const settings = {
    VIGIL_API_URL: options.apiUrl,
    VIGIL_API_CLIENT_TOKEN: options.apiToken,
    VIGIL_DASHBOARD_PASSWORD: password,
    ...(options.secret === undefined ? {} : { VIGIL_DASHBOARD_SECRET: options.secret }),
  };
  const child: ChildProcess = spawn(process.execPath, [NEXT, "start", "-p", String(options.port), "-H", options.host], {
    cwd: DASHBOARD_DIR,
    env: { ...env, ...settings },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://${options.host}:${options.port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the dashboard exited with code ${child.exitCode} while starting (is port ${options.port} free?)`);
    const ready = await fetch(`${url}/login`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`the dashboard did not answer on ${url} within 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    password,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { dashboardConfig } from "./dashboard-env";
import { processWide } from "./process-wide";

export const SESSION_COOKIE = "vigil_session";
const SESSION_MS = 12 * 3_600_000;

const sign = (payload: string) => createHmac("sha256", dashboardConfig().sessionSecret).update(payload).digest("base64url");

/**
 * A session value: its expiry, a random id and an HMAC of both, so checking one needs no server
 * state beyond the logged-out ones.
 */
export function newSession(now = Date.now()): { value: string; expires: Date } {
  const expires = now + SESSION_MS;
  const payload = `${expires}.${randomBytes(12).toString("base64url")}`;
  return { value: `${payload}.${sign(payload)}`, expires: new Date(expires) };
}

/**
 * Sessions ended by logging out, until they would have expired anyway: the cookie is cleared in
 * the browser, and a copy of it is refused here. In memory, so it holds for this process's life.
 */
const revoked = processWide("revokedSessions", () => new Map<string, number>());

/**
 * A cookie is valid while its signed expiry is ahead, and never longer than one session from now:
 * the cap holds even for an expiry signed under a leaked key.
 */
export function validSession(value: string | undefined, now = Date.now()): boolean {
  const match = /^((\d{1,15})\.[A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]+)$/.exec(value ?? "");
  if (!match) return false;
  const expires = Number(match[2]);
  if (expires <= now || expires > now + SESSION_MS || revoked.has(match[1]!)) return false;
  const expected = Buffer.from(sign(match[1]!));
  const given = Buffer.from(match[3]!);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function revokeSession(value: string | undefined, now = Date.now()): void {
  if (!value || !validSession(value, now)) return;
  for (const [old, expires] of revoked) if (expires <= now) revoked.delete(old);
  const payload = value.slice(0, value.lastIndexOf("."));
  revoked.set(payload, Number(payload.split(".")[0]));
}

/** Compares a login password with the configured one in constant time. */
export function passwordMatches(given: string): boolean {
  const digest = (v: string) => createHash("sha256").update(v).digest();
  return timingSafeEqual(digest(given), digest(dashboardConfig().password));
}

export async function hasSession(): Promise<boolean> {
  return validSession((await cookies()).get(SESSION_COOKIE)?.value);
}

/** For pages: sends anonymous visitors to the login. */
export async function requireSession(): Promise<void> {
  if (!(await hasSession())) redirect("/login");
}

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { dashboardConfig } from "./config";

export const SESSION_COOKIE = "vigil_session";
const SESSION_MS = 12 * 3_600_000;

const sign = (expires: number) => createHmac("sha256", dashboardConfig().sessionSecret).update(String(expires)).digest("base64url");

/** A session value: its expiry and an HMAC of it, so the server keeps no session state. */
export function newSession(now = Date.now()): { value: string; expires: Date } {
  const expires = now + SESSION_MS;
  return { value: `${expires}.${sign(expires)}`, expires: new Date(expires) };
}

export function validSession(value: string | undefined, now = Date.now()): boolean {
  const match = /^(\d+)\.([A-Za-z0-9_-]+)$/.exec(value ?? "");
  if (!match) return false;
  const expires = Number(match[1]);
  const expected = Buffer.from(sign(expires));
  const given = Buffer.from(match[2]!);
  return expires > now && expected.length === given.length && timingSafeEqual(expected, given);
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

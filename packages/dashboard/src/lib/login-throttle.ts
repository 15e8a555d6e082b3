import { processWide } from "./process-wide";

/**
 * Slows password guessing. After FREE_FAILURES wrong passwords from one client, each further
 * attempt must wait twice as long as the last (5 s, 10 s, 20 s ... capped at MAX_LOCK_MS), and an
 * attempt during the wait is refused without looking at the password, the right one included.
 * The same rule over all clients together, with a larger allowance and a short cap, bounds a
 * guesser that rotates addresses to one guess per GLOBAL_MAX_LOCK_MS, while a flood of wrong
 * passwords can keep the real user waiting no longer than that. A correct login clears its
 * client's record. Kept in memory: a restart forgets it, which costs a guesser a restart of the
 * dashboard per round.
 */
const FREE_FAILURES = 5;
const GLOBAL_FREE_FAILURES = 50;
const FIRST_LOCK_MS = 5000;
const MAX_LOCK_MS = 15 * 60_000;
const GLOBAL_MAX_LOCK_MS = 10_000;
/** Failures older than this are forgotten. */
const MEMORY_MS = 60 * 60_000;
/** Bounds the table against a flood of distinct client keys. */
const MAX_CLIENTS = 10_000;

interface FailureRecord {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

const clients = processWide("loginFailures", () => new Map<string, FailureRecord>());
const everyone = processWide<FailureRecord>("loginFailuresOfAll", () => ({ failures: 0, lockedUntil: 0, lastFailure: 0 }));

function fresh(record: FailureRecord, now: number): FailureRecord {
  if (now - record.lastFailure > MEMORY_MS) Object.assign(record, { failures: 0, lockedUntil: 0 });
  return record;
}

/** Milliseconds until `client` may try again; 0 when it may now. */
export function loginRetryAfterMs(client: string, now = Date.now()): number {
  const own = clients.get(client);
  const waits = [fresh(everyone, now).lockedUntil - now, own ? fresh(own, now).lockedUntil - now : 0];
  return Math.max(0, ...waits);
}

export function recordLoginFailure(client: string, now = Date.now()): void {
  if (!clients.has(client) && clients.size >= MAX_CLIENTS) clients.delete(clients.keys().next().value!);
  const own = fresh(clients.get(client) ?? { failures: 0, lockedUntil: 0, lastFailure: 0 }, now);
  clients.set(client, own);
  for (const [record, free, cap] of [
    [own, FREE_FAILURES, MAX_LOCK_MS],
    [fresh(everyone, now), GLOBAL_FREE_FAILURES, GLOBAL_MAX_LOCK_MS],
  ] as const) {
    record.failures++;
    record.lastFailure = now;
    const over = record.failures - free;
    if (over > 0) record.lockedUntil = now + Math.min(cap, FIRST_LOCK_MS * 2 ** Math.min(over - 1, 30));
  }
}

export function recordLoginSuccess(client: string): void {
  clients.delete(client);
}

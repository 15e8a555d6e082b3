import { z } from "zod";
import type { StoreEngine } from "../engine.js";
import { countValue, queryRows } from "./columns.js";

/**
 * The monitor lease: which of several `vigil monitor` processes evaluates (migrations/0006_monitor_lease.sql).
 *
 * ClickHouse has no transactions and no compare-and-set, so the lease is decided by reading, not
 * by a conditional write. The protocol, for one lease `name`:
 *
 * 1. A candidate reads the highest term T and its holder: the candidate with the earliest claim
 *    in T (claimed_at, then holder, as tie-break), and that holder's latest expires_at.
 * 2. When T's holder's expiry has passed by the server's clock (or there is no term yet), the
 *    candidate inserts a claim for T + 1. claimed_at and expires_at are stamped by the server
 *    (now64), never by the candidate, so clock skew between candidates plays no part.
 * 3. It waits `settle`, reads T + 1 again, and holds the lease only when its own claim is the
 *    earliest and its insert took less than `settle` from sending to acknowledgement.
 * 4. The holder renews by re-inserting its row with a later expiry, and acts only until its last
 *    acknowledged renewal's send time + ttl - settle by its own monotonic clock, which ends before
 *    the server-stamped expiry, the earliest moment anyone else may claim.
 *
 * Why at most one candidate holds a term: take claims X and Y of one term, X stamped earlier.
 * Y's insert was sent after its stamp, which is after X's stamp; X's insert was visible at most
 * `settle` after its stamp (else X abstains in step 3), and Y reads at least `settle` after its
 * own acknowledgement. So Y sees X and does not hold; only the earliest claim can. Whoever holds
 * the highest term's earliest claim is the holder for every reader, since all read the same rows.
 * A later term is claimed only after the previous holder's server-stamped expiry, by which time
 * that holder has stopped acting (step 4). The assumptions: one server clock that does not jump
 * back (one ClickHouse server, or a cluster whose clocks are synchronized and whose lease table
 * is read after replication settles), inserts visible within `settle` of their stamp, and clocks
 * that run at the same rate. A lost race leaves a term with no holder, never two; the next
 * attempt takes the following term.
 */
export const MONITOR_LEASE = "monitor_lease";

/** One candidate's rows in a term, merged: its first claim and its latest expiry. */
export interface LeaseClaim {
  holder: string;
  claimedAtMs: number;
  expiresAtMs: number;
}

/** The highest term of a lease as every reader sees it. */
export interface LeaseTerm {
  term: number;
  /** The earliest claim: the term's holder. */
  holder: LeaseClaim;
  /** Every claim in the term, earliest first. */
  claims: LeaseClaim[];
  /** The server's clock at the read, the clock expiries are measured by. */
  serverNowMs: number;
}

const claimRow = z.object({
  term: countValue,
  holder: z.string(),
  claimed_ms: countValue,
  expires_ms: countValue,
  now_ms: countValue,
});

/** The highest term of lease `name` and its claims; undefined before the first claim. */
export async function readLeaseTerm(engine: StoreEngine, name: string): Promise<LeaseTerm | undefined> {
  // Aggregated rather than FINAL: a renewal's row and the claim it renews may sit in different
  // parts until they merge, and min/max over both reads the same either way.
  const rows = await queryRows(
    engine,
    claimRow,
    `SELECT term, holder,
            toUnixTimestamp64Milli(min(claimed_at)) AS claimed_ms,
            toUnixTimestamp64Milli(max(expires_at)) AS expires_ms,
            toUnixTimestamp64Milli(now64(3)) AS now_ms
       FROM ${MONITOR_LEASE}
      WHERE name = {name:String} AND term = (SELECT max(term) FROM ${MONITOR_LEASE} WHERE name = {name:String})
      GROUP BY term, holder
      ORDER BY claimed_ms, holder`,
    { name },
  );
  const first = rows[0];
  if (!first) return undefined;
  const claims = rows.map((r) => ({ holder: r.holder, claimedAtMs: r.claimed_ms, expiresAtMs: r.expires_ms }));
  return { term: first.term, holder: claims[0]!, claims, serverNowMs: first.now_ms };
}

export interface LeaseClaimInsert {
  name: string;
  term: number;
  holder: string;
  /** How long after the server's now the claim expires; 0 for a claim that is already over (a release). */
  ttlMs: number;
  /** A renewal keeps its first claim's time; a new claim is stamped with the server's now. */
  claimedAtMs?: number;
}

/** Inserts a claim or renewal, its times stamped by the server's clock. */
export async function insertLeaseClaim(engine: StoreEngine, claim: LeaseClaimInsert): Promise<void> {
  const claimedAt = claim.claimedAtMs === undefined ? "now64(3)" : "fromUnixTimestamp64Milli({claimed:Int64}, 'UTC')";
  await engine.command(
    `INSERT INTO ${MONITOR_LEASE} (name, term, holder, claimed_at, expires_at)
     SELECT {name:String}, {term:UInt64}, {holder:String}, ${claimedAt}, now64(3) + toIntervalMillisecond({ttl:UInt32})`,
    { name: claim.name, term: claim.term, holder: claim.holder, ttl: claim.ttlMs, claimed: claim.claimedAtMs ?? 0 },
  );
}

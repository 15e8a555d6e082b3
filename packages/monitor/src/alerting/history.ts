import { type StoreEngine, isoFromClickHouse } from "@vigil/store";

export interface AlertHistoryRow {
  fingerprint: string;
  rule: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  value: number;
  startsAt: string;
  endsAt: string | null;
  changedAt: string;
}

const isoOf = (t: string | null) => (t === null ? null : isoFromClickHouse(t));

/** Alert state changes in a range, newest first. */
export async function alertHistory(engine: StoreEngine, fromMs: number, toMs: number, limit: number): Promise<AlertHistoryRow[]> {
  const rows = await engine.query<{ fingerprint: string; rule: string; labels: Record<string, string>; annotations: Record<string, string>; state: string; value: number; s: string; e: string | null; c: string }>(
    `SELECT fingerprint, rule, labels, annotations, state, value, toString(starts_at) AS s, toString(ends_at) AS e, toString(changed_at) AS c
     FROM alerts
     WHERE changed_at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND changed_at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
     ORDER BY changed_at DESC LIMIT {limit:UInt32}`,
    { from: Math.floor(fromMs), to: Math.ceil(toMs), limit },
  );
  return rows.map((r) => ({ fingerprint: r.fingerprint, rule: r.rule, labels: r.labels, annotations: r.annotations, state: r.state, value: r.value, startsAt: isoOf(r.s)!, endsAt: isoOf(r.e), changedAt: isoOf(r.c)! }));
}

/** Alerts pending or firing now, from the alert history (the newest state of each fingerprint). */
export async function activeAlerts(engine: StoreEngine): Promise<AlertHistoryRow[]> {
  const rows = await engine.query<{ fingerprint: string; rule: string; labels: Record<string, string>; annotations: Record<string, string>; state: string; value: number; s: string; c: string }>(
    `SELECT fingerprint, argMax(rule, changed_at) AS rule, argMax(labels, changed_at) AS labels, argMax(annotations, changed_at) AS annotations,
            argMax(state, changed_at) AS state, argMax(value, changed_at) AS value, toString(argMax(starts_at, changed_at)) AS s, toString(max(changed_at)) AS c
     FROM alerts GROUP BY fingerprint HAVING state IN ('pending', 'firing') ORDER BY s DESC`,
  );
  return rows.map((r) => ({ fingerprint: r.fingerprint, rule: r.rule, labels: r.labels, annotations: r.annotations, state: r.state, value: r.value, startsAt: isoOf(r.s)!, endsAt: null, changedAt: isoOf(r.c)! }));
}

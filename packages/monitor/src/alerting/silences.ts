import { randomUUID } from "node:crypto";
import { type StoreEngine, formatDateTime64, isoFromClickHouse } from "@vigil/store";
import { type Labels, type Matcher, formatMatcher, matches, parseMatcher } from "./labels.js";

export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
}

export const silenceActive = (s: Silence, nowMs: number) => s.startsAt <= nowMs && nowMs < s.endsAt;

/** The active silence that mutes these labels, if any. */
export function silencing(silences: Silence[], labels: Labels, nowMs: number): Silence | undefined {
  return silences.find((s) => silenceActive(s, nowMs) && matches(labels, s.matchers));
}

const ms = (t: number) => formatDateTime64(t * 1000).slice(0, 23);
const parseTime = (text: string) => Date.parse(isoFromClickHouse(text));

async function write(engine: StoreEngine, s: Silence): Promise<void> {
  const row = { id: s.id, matchers: JSON.stringify(s.matchers.map(formatMatcher)), starts_at: ms(s.startsAt), ends_at: ms(s.endsAt), created_by: s.createdBy, comment: s.comment, updated_at: ms(Date.now()) };
  await engine.insertJsonLines("silences", Buffer.from(`${JSON.stringify(row)}\n`));
}

/** Creates a silence; at least one matcher, and an end after its start. */
export async function createSilence(engine: StoreEngine, input: { matchers: string[]; startsAt?: number; endsAt: number; createdBy: string; comment: string }): Promise<Silence> {
  if (input.matchers.length === 0) throw new Error("a silence needs at least one matcher, e.g. alertname=\"HighErrorRate\"");
  const silence: Silence = { id: randomUUID(), matchers: input.matchers.map(parseMatcher), startsAt: input.startsAt ?? Date.now(), endsAt: input.endsAt, createdBy: input.createdBy, comment: input.comment };
  if (!(silence.endsAt > silence.startsAt)) throw new Error(`a silence must end after it starts (${new Date(silence.startsAt).toISOString()})`);
  await write(engine, silence);
  return silence;
}

/** Every silence, newest first; expired ones included so their history stays visible. */
export async function listSilences(engine: StoreEngine): Promise<Silence[]> {
  const rows = await engine.query<{ id: string; matchers: string; starts_at: string; ends_at: string; created_by: string; comment: string }>(
    "SELECT id, matchers, starts_at, ends_at, created_by, comment FROM silences FINAL ORDER BY starts_at DESC",
  );
  return rows.map((r) => ({
    id: r.id,
    matchers: (JSON.parse(r.matchers) as string[]).map(parseMatcher),
    startsAt: parseTime(r.starts_at),
    endsAt: parseTime(r.ends_at),
    createdBy: r.created_by,
    comment: r.comment,
  }));
}

/** Ends a silence now (its row stays, ending at the time of expiry). */
export async function expireSilence(engine: StoreEngine, id: string, nowMs = Date.now()): Promise<Silence> {
  const found = (await listSilences(engine)).find((s) => s.id === id);
  if (!found) throw new Error(`no silence with id ${id}`);
  if (found.endsAt <= nowMs) return found;
  const expired = { ...found, endsAt: Math.max(found.startsAt, nowMs) };
  await write(engine, expired);
  return expired;
}

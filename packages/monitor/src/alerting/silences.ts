import { randomUUID } from "node:crypto";
import { type StoreEngine, readSilences, saveSilence } from "@vigil/store";
import { InvalidRequestError, NotFoundError } from "../errors.js";
import { type Labels, type Matcher, formatMatcher, matches, parseMatcher } from "./alert-labels.js";

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

/** Stored with its matchers in their text form, which parseMatcher reads back. */
const write = (engine: StoreEngine, s: Silence) => saveSilence(engine, { ...s, matchers: s.matchers.map(formatMatcher) });

/** Creates a silence; at least one matcher, and an end after its start. */
export async function createSilence(
  engine: StoreEngine,
  input: { matchers: string[]; startsAt?: number; endsAt: number; createdBy: string; comment: string },
): Promise<Silence> {
  if (input.matchers.length === 0) throw new InvalidRequestError('a silence needs at least one matcher, e.g. alertname="HighErrorRate"');
  const silence: Silence = {
    id: randomUUID(),
    matchers: input.matchers.map(parseMatcher),
    startsAt: input.startsAt ?? Date.now(),
    endsAt: input.endsAt,
    createdBy: input.createdBy,
    comment: input.comment,
  };
  if (!(silence.endsAt > silence.startsAt)) throw new InvalidRequestError(`a silence must end after it starts (${new Date(silence.startsAt).toISOString()})`);
  await write(engine, silence);
  return silence;
}

/** Every silence, newest first; expired ones included so their history stays visible. */
export async function listSilences(engine: StoreEngine): Promise<Silence[]> {
  return (await readSilences(engine)).map((s) => ({ ...s, matchers: s.matchers.map(parseMatcher) }));
}

/** Ends a silence now (its row stays, ending at the time of expiry). */
export async function expireSilence(engine: StoreEngine, id: string, nowMs = Date.now()): Promise<Silence> {
  const found = (await listSilences(engine)).find((s) => s.id === id);
  if (!found) throw new NotFoundError(`no silence with id ${id}`);
  if (found.endsAt <= nowMs) return found;
  const expired = { ...found, endsAt: Math.max(found.startsAt, nowMs) };
  await write(engine, expired);
  return expired;
}

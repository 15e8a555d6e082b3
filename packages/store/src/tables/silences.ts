import { z } from "zod";
import type { StoreEngine } from "../engine.js";
import { dateTimeColumn, formatDateTime64Millis, insertRows, isoTime, queryRows } from "./columns.js";

/** Silences; a ReplacingMergeTree by id where the newest updated_at wins (migrations/0005_alerting.sql). */
export const SILENCES = "silences";

/** A silence as stored: its matchers in their text form (`alertname="X"`), times in epoch milliseconds. */
export interface SilenceRecord {
  id: string;
  matchers: string[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
}

export const silenceInsertSchema = z.object({
  id: z.string(),
  /** JSON array of matcher texts. */
  matchers: z.string(),
  starts_at: dateTimeColumn,
  ends_at: dateTimeColumn,
  created_by: z.string(),
  comment: z.string(),
  updated_at: dateTimeColumn,
});
export type SilenceInsert = z.infer<typeof silenceInsertSchema>;

/** Writes a silence, replacing any earlier version of the same id. */
export async function saveSilence(engine: StoreEngine, s: SilenceRecord, updatedAtMs = Date.now()): Promise<void> {
  const row: SilenceInsert = {
    id: s.id,
    matchers: JSON.stringify(s.matchers),
    starts_at: formatDateTime64Millis(s.startsAt),
    ends_at: formatDateTime64Millis(s.endsAt),
    created_by: s.createdBy,
    comment: s.comment,
    updated_at: formatDateTime64Millis(updatedAtMs),
  };
  await insertRows(engine, SILENCES, [row]);
}

const matcherTexts = z.string().transform((text) => z.array(z.string()).parse(JSON.parse(text)));
const epochMs = isoTime.transform((iso) => Date.parse(iso));

export const silenceReadSchema = z
  .object({ id: z.string(), matchers: matcherTexts, starts_at: epochMs, ends_at: epochMs, created_by: z.string(), comment: z.string() })
  .transform((r): SilenceRecord => ({ id: r.id, matchers: r.matchers, startsAt: r.starts_at, endsAt: r.ends_at, createdBy: r.created_by, comment: r.comment }));

/** Every silence, newest first; expired ones included so their history stays visible. */
export function readSilences(engine: StoreEngine): Promise<SilenceRecord[]> {
  return queryRows(engine, silenceReadSchema, `SELECT id, matchers, starts_at, ends_at, created_by, comment FROM ${SILENCES} FINAL ORDER BY starts_at DESC`);
}

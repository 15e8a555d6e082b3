import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { PredictionRecord } from "@vigil/store";

export const quietLog = pino({ level: "silent" });

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Start of the current minute: fixture rows stay well inside every table's retention. */
export const FIXTURE_START_US = Math.floor(Date.now() / 60_000) * 60_000 * 1000;

/** A prediction record with distinct ids; `overrides` set what a test cares about. */
export function predictionRecord(i: number, overrides: Partial<PredictionRecord> = {}): PredictionRecord {
  return {
    timestampUs: FIXTURE_START_US + i * 1000,
    requestId: `req-${i}`,
    rowIndex: 0,
    traceId: "",
    spanId: "",
    modelName: "flights",
    modelVersion: "1",
    status: i % 10 === 0 ? "INVALID_ARGUMENT" : "OK",
    error: "",
    latencyUs: 1000 + i,
    queueUs: 100,
    computeUs: 200,
    batchSize: 1,
    features: [i % 24, i % 7, 100 + i, 1, 2],
    prediction: i % 3 === 0 ? "delayed" : "on_time",
    scores: [0.4, 0.6],
    confidence: 0.6,
    client: "127.0.0.1",
    role: "primary",
    ...overrides,
  };
}

export async function eventually<T>(check: () => Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

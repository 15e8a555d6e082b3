import { parseDuration, parseTime } from "@vigil/config";
import { z } from "zod";
import { InvalidRequestError } from "../errors.js";
import type { SeriesRange } from "./queries.js";

/** A parser from @vigil/config as a zod transform, so its message becomes the field's issue. */
export const parsed =
  <T>(parse: (text: string) => T) =>
  (text: string, ctx: z.RefinementCtx): T => {
    try {
      return parse(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  };

const time = (fallback: string) => z.string().default(fallback).transform(parsed(parseTime));
const duration = z
  .string()
  .optional()
  .transform((v, ctx) => (v === undefined ? undefined : parsed(parseDuration)(v, ctx)));

export const NAME = z.string().min(1).max(200);
export const VERSION = z.string().max(50).default("");

/** A time range: ISO 8601, epoch milliseconds, now, or -<duration>; and an optional step. */
export const range = z.object({ from: time("-1h"), to: time("now"), step: duration });
export const modelScope = z.object({ model: z.string().max(200).default(""), version: VERSION });
export const modelPath = z.object({ model: NAME });

/** The status names gRPC gives a call, as the prediction log and traces record them. */
export const GRPC_STATUS_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;
/** A status filter: a gRPC status name, or ERROR for every status but OK. */
export const STATUS_FILTERS = [...GRPC_STATUS_NAMES, "ERROR"] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

/** A status filter in any case ("ok" is OK); anything else is a 400 that lists the values. */
export const statusFilter = z
  .preprocess(
    (v) => (typeof v === "string" ? v.toUpperCase() : v),
    z.enum(STATUS_FILTERS, {
      error: (issue) => `"${String(issue.input)}" is not a status; use one of ${STATUS_FILTERS.join(", ")} (any case; ERROR is every status but OK)`,
    }),
  )
  .describe("A gRPC status name, or ERROR for every status but OK; any case")
  .optional();

/** About 120 points over the range, in whole minutes, unless a step is given. */
export function seriesRange(q: z.output<typeof range>): SeriesRange {
  if (!(q.to > q.from)) throw new InvalidRequestError(`"to" (${new Date(q.to).toISOString()}) must come after "from" (${new Date(q.from).toISOString()})`);
  const stepMs = q.step ?? Math.max(60_000, Math.ceil((q.to - q.from) / 120 / 60_000) * 60_000);
  if ((q.to - q.from) / stepMs > 10_000) throw new InvalidRequestError(`step ${stepMs} ms gives more than 10,000 points over the range; use a longer step`);
  return { fromMs: q.from, toMs: q.to, stepMs };
}

/** The range in microseconds, as the quality and drift queries take it. */
export const windowOf = (r: SeriesRange) => ({ fromUs: r.fromMs * 1000, toUs: r.toMs * 1000 });

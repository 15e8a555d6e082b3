import type { StatusFilter, TraceOrder } from "@vigil/monitor";
import { BadRangeError, type Search, timeRangeOf } from "./range";

/** A query parameter a page cannot use; the proxy answers it with HTTP 400 before the page runs. */
export class BadParameterError extends Error {
  constructor(
    /** The query parameters to drop for a URL that works. */
    readonly keys: string[],
    message: string,
  ) {
    super(message);
  }
}

const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
const given = (search: Search, key: string) => {
  const value = one(search[key]);
  return value === undefined || value === "" ? undefined : value;
};

/**
 * The status filters the monitor API accepts, each with what the dropdown says. Keyed by the
 * API's own type, so a status added there fails to compile here until it is named.
 */
export const STATUS_CHOICES: Record<StatusFilter, string> = {
  OK: "ok",
  ERROR: "error (any failure)",
  CANCELLED: "cancelled",
  UNKNOWN: "unknown",
  INVALID_ARGUMENT: "invalid argument",
  DEADLINE_EXCEEDED: "deadline exceeded",
  NOT_FOUND: "not found",
  ALREADY_EXISTS: "already exists",
  PERMISSION_DENIED: "permission denied",
  RESOURCE_EXHAUSTED: "resource exhausted",
  FAILED_PRECONDITION: "failed precondition",
  ABORTED: "aborted",
  OUT_OF_RANGE: "out of range",
  UNIMPLEMENTED: "unimplemented",
  INTERNAL: "internal",
  UNAVAILABLE: "unavailable",
  DATA_LOSS: "data loss",
  UNAUTHENTICATED: "unauthenticated",
};

/** A status from the URL in any case ("ok" is OK), as the API reads it. */
function statusOf(search: Search): StatusFilter | undefined {
  const status = given(search, "status");
  if (status === undefined) return undefined;
  const upper = status.toUpperCase();
  if (!(upper in STATUS_CHOICES))
    throw new BadParameterError(["status"], `status "${status}" is not one of ${Object.keys(STATUS_CHOICES).join(", ")} (any case; error is every failure)`);
  return upper as StatusFilter;
}

function choiceOf<T extends string>(search: Search, key: string, choices: readonly T[]): T | undefined {
  const value = given(search, key);
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new BadParameterError([key], `${key} "${value}" is not one of ${choices.join(", ")}`);
  return value as T;
}

/** Longest minimum duration the API takes: a day. */
const MAX_MIN_MS = 86_400_000;

export interface TraceFilters {
  model?: string;
  status?: StatusFilter;
  minMs?: number;
  sort: TraceOrder;
}

/**
 * The Traces page's filters: `model`, `status` (ok, error or a gRPC status name), `minMs` and
 * `sort` (slowest or newest; slowest when a minimum duration is given, newest otherwise).
 */
export function traceFiltersOf(search: Search): TraceFilters {
  const minText = given(search, "minMs");
  const minMs = minText === undefined ? undefined : Number(minText);
  if (minMs !== undefined && !(Number.isFinite(minMs) && minMs >= 0 && minMs <= MAX_MIN_MS))
    throw new BadParameterError(["minMs"], `minMs "${minText}" is not a duration in milliseconds from 0 to ${MAX_MIN_MS}`);
  const sort = choiceOf<TraceOrder>(search, "sort", ["slowest", "newest"]) ?? (minMs === undefined ? "newest" : "slowest");
  return { model: given(search, "model"), status: statusOf(search), minMs, sort };
}

export interface PredictionFilters {
  model?: string;
  version?: string;
  status?: StatusFilter;
  requestId?: string;
  hasLabel?: "true" | "false";
  /** Only labelled rows whose prediction differs from the label. */
  wrong: boolean;
  cursor?: string;
}

/** The Predictions page's filters, each as the API's parameter of the same name; `wrong=true` keeps wrong predictions only. */
export function predictionFiltersOf(search: Search): PredictionFilters {
  return {
    model: given(search, "model"),
    version: given(search, "version"),
    status: statusOf(search),
    requestId: given(search, "requestId"),
    hasLabel: choiceOf(search, "hasLabel", ["true", "false"] as const),
    wrong: choiceOf(search, "wrong", ["true", "false"] as const) === "true",
    cursor: given(search, "cursor"),
  };
}

/** The page-specific query checks, by the first path segment. */
const PAGE_CHECKS: Record<string, (search: Search) => unknown> = {
  traces: traceFiltersOf,
  predictions: predictionFiltersOf,
};

export interface ParameterProblem {
  message: string;
  /** The same address without the parameters at fault. */
  saneUrl: string;
}

/**
 * What is wrong with a page address's query, if anything: the time range on every page, and
 * the filters of the page it names. Each problem's parameters are dropped from the sane URL.
 */
export function parameterProblem(pathname: string, query: URLSearchParams): ParameterProblem | undefined {
  const search: Search = {};
  for (const [key, value] of query) search[key] ??= value;
  const checks: Array<(s: Search) => unknown> = [timeRangeOf];
  const page = PAGE_CHECKS[pathname.split("/")[1] ?? ""];
  if (page && pathname.split("/").length === 2) checks.push(page);
  const messages: string[] = [];
  const drop = new Set<string>();
  for (const check of checks) {
    try {
      check(search);
    } catch (error) {
      if (error instanceof BadRangeError) {
        messages.push(error.message);
        for (const key of ["range", "from", "to"]) drop.add(key);
      } else if (error instanceof BadParameterError) {
        messages.push(error.message);
        for (const key of error.keys) drop.add(key);
      } else throw error;
    }
  }
  if (messages.length === 0) return undefined;
  const sane = new URLSearchParams([...query].filter(([key]) => !drop.has(key)));
  const saneQuery = sane.toString();
  return { message: messages.join("; "), saneUrl: saneQuery ? `${pathname}?${saneQuery}` : pathname };
}

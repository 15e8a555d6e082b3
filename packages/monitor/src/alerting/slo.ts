import { durationSchema, formatDuration, parseDuration } from "@vigil/config";
import { MINUTE_RANGE, REQUESTS_PER_MINUTE, type StoreEngine } from "@vigil/store";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import { SERVER_FAULT_STATUSES } from "./signals.js";

/** A service level objective on one model: availability (requests not failing on the server's side) or latency (OK requests at or under a threshold). */
export interface Slo {
  name: string;
  description: string;
  model: string;
  /** '' for every version. */
  version: string;
  indicator: "availability" | "latency";
  /** Latency SLOs: the threshold in microseconds (a bucket bound of requests_per_minute). */
  thresholdUs?: number;
  /** Share of good events the SLO promises, e.g. 0.999. */
  objective: number;
  /** Rolling window, milliseconds. */
  windowMs: number;
}

/**
 * Whether a latency threshold is a bound of the per-minute latency buckets (100 µs steps to
 * 10 ms, 1 ms to 1 s, 100 ms beyond), the only thresholds the rollup answers exactly.
 */
export function isLatencyBound(us: number): boolean {
  if (!Number.isInteger(us) || us <= 0) return false;
  if (us <= 10_000) return us % 100 === 0;
  if (us <= 1_000_000) return us % 1000 === 0;
  return us % 100_000 === 0;
}

const SLO_NAME = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "lowercase letters, digits and '-', at most 63 (as OpenSLO names)");

/** Vigil's short form. */
const shortSlo = z.strictObject({
  name: SLO_NAME,
  description: z.string().default(""),
  model: z.string().min(1),
  version: z.string().default(""),
  indicator: z.enum(["availability", "latency"]),
  threshold: durationSchema.optional(),
  objective: z.number().gt(0).lt(1),
  window: durationSchema.prefault("28d"),
});

const vigilSource = z.object({
  metricSource: z.object({
    type: z.string().refine((t) => t.toLowerCase() === "vigil", "Vigil reads metric sources of type Vigil"),
    spec: z.object({
      model: z.string().min(1),
      version: z.string().optional(),
      requests: z.enum(["all", "succeeded", "failed"]).optional(),
      metric: z.string().optional(),
    }),
  }),
});

/** OpenSLO v1 (the parts Vigil can compute): an SLO with an inline ratioMetric or thresholdMetric indicator over a rolling window, budgeted by occurrences. */
const openSlo = z.object({
  apiVersion: z.literal("openslo/v1"),
  kind: z.literal("SLO"),
  metadata: z.object({ name: SLO_NAME, displayName: z.string().optional() }),
  spec: z.object({
    description: z.string().optional(),
    service: z.string().optional(),
    indicator: z.object({
      metadata: z.object({ name: z.string() }).optional(),
      spec: z.object({
        ratioMetric: z.object({ counter: z.boolean().optional(), good: vigilSource.optional(), bad: vigilSource.optional(), total: vigilSource }).optional(),
        thresholdMetric: vigilSource.optional(),
      }),
    }),
    timeWindow: z.array(z.object({ duration: z.string(), isRolling: z.literal(true, { message: "only rolling windows are supported" }) })).length(1),
    budgetingMethod: z.literal("Occurrences", { message: 'only "Occurrences" budgeting is supported' }),
    objectives: z
      .array(
        z.object({
          displayName: z.string().optional(),
          target: z.number().gt(0).lt(1),
          op: z.enum(["lte", "lt"]).optional(),
          value: z.number().positive().optional(),
        }),
      )
      .length(1),
  }),
});

function fromOpenSlo(doc: z.infer<typeof openSlo>): Slo {
  const { spec } = doc;
  const objective = spec.objectives[0]!;
  const windowMs = parseDuration(spec.timeWindow[0]!.duration);
  const base = { name: doc.metadata.name, description: spec.description ?? doc.metadata.displayName ?? "", objective: objective.target, windowMs };
  const ratio = spec.indicator.spec.ratioMetric;
  if (ratio) {
    const total = ratio.total.metricSource.spec;
    const part = ratio.good?.metricSource.spec ?? ratio.bad?.metricSource.spec;
    const expected = ratio.good ? "succeeded" : "failed";
    if (!part || part.requests !== expected || (total.requests ?? "all") !== "all" || part.model !== total.model) {
      throw new ConfigError(
        `SLO ${doc.metadata.name}: a Vigil ratioMetric counts requests of one model: good {model, requests: succeeded} (or bad {model, requests: failed}) over total {model, requests: all}`,
      );
    }
    return { ...base, model: total.model, version: total.version ?? "", indicator: "availability" };
  }
  const threshold = spec.indicator.spec.thresholdMetric;
  if (threshold?.metricSource.spec.metric !== "latency_ms" || objective.value === undefined || objective.op !== "lte") {
    throw new ConfigError(
      `SLO ${doc.metadata.name}: Vigil computes a ratioMetric of requests, or a thresholdMetric {metric: latency_ms} with an objective {op: lte, value: <ms>, target}`,
    );
  }
  return {
    ...base,
    model: threshold.metricSource.spec.model,
    version: threshold.metricSource.spec.version ?? "",
    indicator: "latency",
    thresholdUs: Math.round(objective.value * 1000),
  };
}

/** Parses one SLO, in Vigil's short form or as an OpenSLO v1 document. */
export function parseSlo(raw: unknown): Slo {
  const isOpenSlo = typeof raw === "object" && raw !== null && "apiVersion" in raw;
  let slo: Slo;
  if (isOpenSlo) {
    slo = fromOpenSlo(openSlo.parse(raw));
  } else {
    const short = shortSlo.parse(raw);
    if (short.indicator === "latency" && short.threshold === undefined)
      throw new ConfigError(`SLO ${short.name}: a latency SLO needs a threshold (e.g. "50ms")`);
    slo = {
      name: short.name,
      description: short.description,
      model: short.model,
      version: short.version,
      indicator: short.indicator,
      thresholdUs: short.threshold === undefined ? undefined : Math.round(short.threshold * 1000),
      objective: short.objective,
      windowMs: short.window,
    };
  }
  if (slo.thresholdUs !== undefined && !isLatencyBound(slo.thresholdUs)) {
    throw new ConfigError(
      `SLO ${slo.name}: latency threshold ${slo.thresholdUs / 1000} ms is not a bucket bound (multiples of 0.1 ms up to 10 ms, of 1 ms up to 1 s, of 100 ms beyond)`,
    );
  }
  if (slo.windowMs < 3_600_000 || slo.windowMs % 60_000 !== 0)
    throw new ConfigError(`SLO ${slo.name}: the window must be whole minutes and at least 1h, got ${formatDuration(slo.windowMs)}`);
  return slo;
}

export interface SloEvents {
  good: number;
  total: number;
}

/** The good and total columns of an SLO's events, summed over requests_per_minute rows. */
const eventColumns = (slo: Slo) =>
  slo.indicator === "availability"
    ? "sum(requests) - sumIf(requests, status IN {faults:Array(String)}) AS good, sum(requests) AS total"
    : "sumIf(requests, status = 'OK' AND le_us <= {threshold:UInt32}) AS good, sumIf(requests, status = 'OK') AS total";

const eventRows = `FROM ${REQUESTS_PER_MINUTE}
     WHERE model_name = {model:String} AND ({version:String} = '' OR model_version = {version:String}) AND ${MINUTE_RANGE}`;

const eventParams = (slo: Slo, fromMs: number, toMs: number) => ({
  model: slo.model,
  version: slo.version,
  faults: SERVER_FAULT_STATUSES,
  threshold: slo.thresholdUs ?? 0,
  from: Math.floor(fromMs / 60_000) * 60,
  to: Math.floor(toMs / 60_000) * 60,
});

/** Good and total events of an SLO over the complete minutes in [fromMs, toMs), counted from the per-minute rollup. */
export async function sloEvents(engine: StoreEngine, slo: Slo, fromMs: number, toMs: number): Promise<SloEvents> {
  const [row] = await engine.query<{ good: string | number; total: string | number }>(
    `SELECT ${eventColumns(slo)} ${eventRows}`,
    eventParams(slo, fromMs, toMs),
  );
  return { good: Number(row?.good ?? 0), total: Number(row?.total ?? 0) };
}

/** Good and total events per stretch of `stepMs` (aligned to the epoch) in [fromMs, toMs), in one query; stretches without events are absent. */
export async function sloEventsPerStep(
  engine: StoreEngine,
  slo: Slo,
  fromMs: number,
  toMs: number,
  stepMs: number,
): Promise<Array<SloEvents & { startMs: number }>> {
  const rows = await engine.query<{ start: number; good: string | number; total: string | number }>(
    `SELECT toUnixTimestamp(toStartOfInterval(minute, toIntervalSecond({step:UInt32}), 'UTC')) AS start, ${eventColumns(slo)} ${eventRows} GROUP BY start ORDER BY start`,
    { ...eventParams(slo, fromMs, toMs), step: Math.round(stepMs / 1000) },
  );
  return rows.map((r) => ({ startMs: Number(r.start) * 1000, good: Number(r.good), total: Number(r.total) }));
}

/** How fast the error budget burns: the bad share over the allowed bad share (1 = spending exactly the budget over the window). */
export function burnRate(events: SloEvents, objective: number): number {
  return events.total === 0 ? 0 : (events.total - events.good) / events.total / (1 - objective);
}

/** One multi-window burn-rate alert of an SLO: fire when both windows burn faster than `factor`. */
export interface BurnRateAlert {
  severity: "critical" | "warning";
  longMs: number;
  shortMs: number;
  factor: number;
}

/** An alert's burn rates over its long and short windows ending at `nowMs`; it fires when both exceed its factor. */
export async function alertBurn(engine: StoreEngine, slo: Slo, alert: BurnRateAlert, nowMs: number): Promise<{ long: number; short: number; firing: boolean }> {
  const long = burnRate(await sloEvents(engine, slo, nowMs - alert.longMs, nowMs), slo.objective);
  const short = burnRate(await sloEvents(engine, slo, nowMs - alert.shortMs, nowMs), slo.objective);
  return { long, short, firing: long > alert.factor && short > alert.factor };
}

/**
 * The SRE workbook's multi-window, multi-burn-rate alerts for a 30-day SLO (page at 14.4x over
 * 1h with 5m and 6x over 6h with 30m; ticket at 3x over 1d with 2h and 1x over 3d with 6h). For
 * another window the windows scale with it (rounded to whole minutes) and the factors stay, so
 * each alert still means the same share of the budget spent.
 */
export function burnRateAlerts(slo: Slo): BurnRateAlert[] {
  const scale = slo.windowMs / (30 * 86_400_000);
  const minutes = (ms: number) => Math.max(60_000, Math.round((ms * scale) / 60_000) * 60_000);
  const pairs: Array<[BurnRateAlert["severity"], string, string, number]> = [
    ["critical", "1h", "5m", 14.4],
    ["critical", "6h", "30m", 6],
    ["warning", "1d", "2h", 3],
    ["warning", "3d", "6h", 1],
  ];
  return pairs.map(([severity, long, short, factor]) => ({ severity, longMs: minutes(parseDuration(long)), shortMs: minutes(parseDuration(short)), factor }));
}

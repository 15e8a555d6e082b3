import { type RolloutPolicy, rolloutPolicyId, rolloutPolicySchema } from "@vigil/model-repository";
import { type RolloutEvent, type StoreEngine, listRolloutEvents } from "@vigil/store";
import { type PairCounts, type RolloutScope, type VersionCounts, latencyRankSums, pairCounts, versionCounts } from "./rollout-sql.js";
import {
  type Interval,
  type RolloutTest,
  type Verdict,
  lookAlpha,
  mannWhitneyU,
  mcnemarExact,
  overallVerdict,
  testVerdict,
  twoProportionTest,
  wilsonInterval,
} from "./rollout-stats.js";

/**
 * Where a rollout policy stands, from its rollout_events: pending (no server applied it yet),
 * active, rolled_back or promoted (the newest of those two decides; a server's 'started' after a
 * restart changes neither).
 */
export type RolloutStateName = "pending" | "active" | "rolled_back" | "promoted";

export interface RolloutStatus {
  model: string;
  policy: RolloutPolicy;
  policyId: string;
  events: RolloutEvent[];
  /** Epoch ms of the policy's earliest 'started'; judging starts there. */
  startedMs: number | undefined;
  state: RolloutStateName;
  /**
   * Epoch ms the decision of a rolled_back or promoted rollout rests on (its event's judgedToMs);
   * undefined while it is pending or active. Judging stops there: the sequential test ended at
   * that look, and looking again later would only spend more alpha on the same rows.
   */
  decidedToMs: number | undefined;
  primaryVersion: string;
  candidateVersion: string;
}

/** JSON text as a value; undefined when it is not JSON (a policy column written by hand). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The rollout of a model: the policy its config.json names, or without one the policy of its
 * newest rollout event (so a promoted or removed rollout can still be shown); undefined when
 * neither exists.
 */
export async function rolloutStatus(engine: StoreEngine, model: string, configured: RolloutPolicy | undefined): Promise<RolloutStatus | undefined> {
  let policy = configured;
  let policyId = policy && rolloutPolicyId(model, policy);
  if (!policy) {
    const [newest] = await listRolloutEvents(engine, { model, limit: 1 });
    const parsed = newest && rolloutPolicySchema.safeParse(parseJson(newest.policy));
    if (!newest || !parsed?.success) return undefined;
    policy = parsed.data;
    policyId = newest.policyId;
  }
  const events = await listRolloutEvents(engine, { model, policyId });
  const started = events.filter((e) => e.action === "started");
  const decided = events.filter((e) => e.action !== "started").at(-1);
  const state: RolloutStateName = decided ? (decided.action as "rolled_back" | "promoted") : started.length > 0 ? "active" : "pending";
  return {
    model,
    policy,
    policyId: policyId!,
    events,
    startedMs: started[0]?.timestampMs,
    state,
    decidedToMs: decided?.judgedToMs ?? decided?.timestampMs,
    primaryVersion: policy.primary !== undefined ? String(policy.primary) : (started.at(-1)?.primaryVersion ?? ""),
    candidateVersion: String(policy.candidate),
  };
}

/** A change of the status's policy, as rollout_events keep it; `judgedToMs` when the decision rests on rows up to an earlier point than now. */
export function rolloutEventOf(status: RolloutStatus, change: Pick<RolloutEvent, "action" | "actor" | "reason"> & { judgedToMs?: number }): RolloutEvent {
  return {
    timestampMs: Date.now(),
    modelName: status.model,
    policyId: status.policyId,
    mode: status.policy.mode,
    primaryVersion: status.primaryVersion,
    candidateVersion: status.candidateVersion,
    policy: JSON.stringify(status.policy),
    ...change,
  };
}

/** One version's figures over a stretch of the rollout. */
export interface VersionFigures {
  version: string;
  rows: number;
  errors: number;
  errorRate: number | null;
  labelled: number;
  correct: number;
  accuracy: number | null;
  latencyMs: { p50: number; p95: number; p99: number } | null;
}

export interface Agreement {
  pairs: number;
  agree: number;
  rate: number | null;
  interval: Interval;
}

export interface JudgedTest extends RolloutTest {
  /** The significance this look spends on the test: the look's alpha over the number of tests. */
  alpha: number;
  verdict: Verdict;
}

export interface RolloutWindow {
  startMs: number;
  endMs: number;
  look: number;
  primary: VersionFigures;
  candidate: VersionFigures;
  agreement: Agreement | null;
}

export interface RolloutJudgement {
  /** [fromMs, toMs): the rows judged, since the policy started. */
  fromMs: number;
  toMs: number;
  /** How many monitor windows have ended since the start, counting the one in progress. */
  look: number;
  /** The significance this look spends in all (lookAlpha); each test gets its share. */
  alpha: number;
  primary: VersionFigures;
  candidate: VersionFigures;
  /** Shadow rollouts: how often the candidate predicts what the primary did. */
  agreement: Agreement | null;
  /** What `latencyMs` and the latency test measure: a canary's whole latency, a shadow's compute time (see RolloutScope.timing). */
  timing: "latency" | "compute";
  tests: JudgedTest[];
  verdict: Verdict;
  /** The verdict in words, with the figures that decided it. */
  sentence: string;
  windows: RolloutWindow[];
}

const ratio = (a: number, b: number) => (b === 0 ? null : a / b);
const microsToMs = (us: number) => us / 1000;

function figures(version: string, counts: VersionCounts | undefined): VersionFigures {
  const c = counts ?? { rows: 0, errors: 0, labelled: 0, correct: 0, latencyUs: [Number.NaN, Number.NaN, Number.NaN] };
  const [p50, p95, p99] = c.latencyUs;
  return {
    version,
    rows: c.rows,
    errors: c.errors,
    errorRate: ratio(c.errors, c.rows),
    labelled: c.labelled,
    correct: c.correct,
    accuracy: ratio(c.correct, c.labelled),
    latencyMs: Number.isNaN(p50) ? null : { p50: microsToMs(p50), p95: microsToMs(p95), p99: microsToMs(p99) },
  };
}

const agreementOf = (p: PairCounts | undefined): Agreement => {
  const pairs = p?.pairs ?? 0;
  const agree = p?.agree ?? 0;
  return { pairs, agree, rate: ratio(agree, pairs), interval: wilsonInterval(agree, pairs) };
};

/**
 * The look at `asOfMs`: monitor windows (they end on multiples of the step) ended since the
 * start, the one in progress counting, at least 1. Between two window ends this is the look of
 * the next end, so a judgement taken now never reuses the alpha of a look the monitor took.
 */
function lookAt(startedMs: number, asOfMs: number, stepMs: number): number {
  return Math.max(1, Math.ceil(asOfMs / stepMs) - Math.floor(startedMs / stepMs));
}

const fixed = (v: number | null, digits = 2) => (v === null || Number.isNaN(v) ? "-" : v.toFixed(digits));
const signed = (v: number, digits = 2) => `${v >= 0 ? "+" : ""}${v.toFixed(digits)}`;
const count = (n: number) => n.toLocaleString("en-US");
const ms = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(1)} ms`);

/** The words of one test's figures: "accuracy 0.61 vs 0.80 (-0.19, 95% CI -0.22 to -0.16)". */
function describeTest(test: JudgedTest, j: Pick<RolloutJudgement, "primary" | "candidate" | "timing">): string {
  const ci = `${signed(test.difference)}, 95% CI ${fixed(test.interval[0])} to ${fixed(test.interval[1])}`;
  switch (test.name) {
    case "accuracy":
      return `accuracy ${fixed(j.candidate.accuracy)} vs ${fixed(j.primary.accuracy)} (${ci})`;
    case "error_rate":
      return `error rate ${fixed(j.candidate.errorRate, 3)} vs ${fixed(j.primary.errorRate, 3)} (${signed(test.difference, 3)}, 95% CI ${fixed(test.interval[0], 3)} to ${fixed(test.interval[1], 3)})`;
    case "latency":
      return `p95 ${j.timing === "compute" ? "compute time" : "latency"} ${ms(j.candidate.latencyMs?.p95)} vs ${ms(j.primary.latencyMs?.p95)} (Mann-Whitney p = ${test.pValue.toPrecision(2)}, alpha ${test.alpha.toPrecision(2)})`;
  }
}

/**
 * The verdict in one sentence, led by what decided it: the first test with the verdict; when
 * nothing is distinguishable yet, the quality test, else (no labels) the shadow's agreement, else
 * the error rate.
 */
function verdictSentence(j: Pick<RolloutJudgement, "verdict" | "tests" | "primary" | "candidate" | "agreement" | "timing">): string {
  const head = j.verdict === "not yet distinguishable" ? "candidate not yet distinguishable from primary" : `candidate ${j.verdict} than primary`;
  const deciding = j.tests.find((t) => (j.verdict === "not yet distinguishable" ? t.name === "accuracy" : t.verdict === j.verdict));
  if (deciding) return `${head}: ${describeTest(deciding, j)}, n = ${count(deciding.n)} rows`;
  if (j.agreement && j.agreement.pairs > 0) {
    return `${head}: agreement ${fixed(j.agreement.rate, 3)} (95% CI ${fixed(j.agreement.interval[0], 3)} to ${fixed(j.agreement.interval[1], 3)}), no quality test, n = ${count(j.agreement.pairs)} pairs`;
  }
  const errors = j.tests.find((t) => t.name === "error_rate")!;
  return `${head}: ${describeTest(errors, j)}, no quality test, n = ${count(errors.n)} rows`;
}

export interface JudgeOptions {
  /** Monitor window step, milliseconds: looks are counted in these. */
  stepMs: number;
  /**
   * Judge the rows up to here (a window's end for the monitor, now for the API and the CLI). A
   * rolled_back or promoted rollout is judged only up to its decision (`decidedToMs`): the
   * sequential test ended at that look, and judging the same rows at later looks would only hold
   * them to a smaller alpha.
   */
  asOfMs: number;
  /** A classifier's rollout gets a quality test on its labelled rows. */
  classifier: boolean;
}

/**
 * Judges a started rollout on every row since its start, at the look `asOfMs` falls in: each
 * test at that look's alpha (lookAlpha), the verdict from the tests, and the figures per
 * monitor window for a chart.
 */
export async function judgeRollout(engine: StoreEngine, status: RolloutStatus & { startedMs: number }, options: JudgeOptions): Promise<RolloutJudgement> {
  const asOfMs = Math.min(options.asOfMs, status.decidedToMs ?? options.asOfMs);
  const shadow = status.policy.mode === "shadow";
  const scope: RolloutScope = {
    model: status.model,
    primary: status.primaryVersion,
    candidate: status.candidateVersion,
    candidateRole: shadow ? "shadow" : "canary",
    fromUs: status.startedMs * 1000,
    toUs: asOfMs * 1000,
    stepUs: options.stepMs * 1000,
    timing: shadow ? "compute_us" : "latency_us",
  };
  const [counts, pairs, ranks] = await Promise.all([
    versionCounts(engine, scope),
    shadow ? pairCounts(engine, scope) : Promise.resolve([]),
    latencyRankSums(engine, scope),
  ]);
  const look = lookAt(status.startedMs, asOfMs, options.stepMs);
  const alpha = lookAlpha(status.policy.significance, look);
  const side = (window: number | null, candidate: boolean) => counts.find((c) => c.window === window && c.candidate === candidate);
  const primary = figures(status.primaryVersion, side(null, false));
  const candidate = figures(status.candidateVersion, side(null, true));
  const overallPairs = pairs.find((p) => p.window === null);

  const quality = !options.classifier
    ? undefined
    : shadow
      ? overallPairs && overallPairs.labelled > 0
        ? mcnemarExact(overallPairs.primaryOnly, overallPairs.candidateOnly, overallPairs.labelled)
        : undefined
      : candidate.labelled > 0 && primary.labelled > 0
        ? twoProportionTest("accuracy", { count: candidate.correct, n: candidate.labelled }, { count: primary.correct, n: primary.labelled })
        : undefined;
  const raw: Array<[RolloutTest, boolean]> = [
    ...(quality ? [[quality, true] as [RolloutTest, boolean]] : []),
    [twoProportionTest("error_rate", { count: candidate.errors, n: candidate.rows }, { count: primary.errors, n: primary.rows }), false],
    [mannWhitneyU(ranks), false],
  ];
  // The look's alpha is split evenly among its tests, so the union bound covers every test at every look.
  const testAlpha = alpha / raw.length;
  const tests = raw.map(([test, higherIsBetter]): JudgedTest => ({ ...test, alpha: testAlpha, verdict: testVerdict(test, testAlpha, higherIsBetter) }));
  const verdictOf = (name: RolloutTest["name"]) => tests.find((t) => t.name === name)?.verdict;
  const verdict = overallVerdict({ quality: verdictOf("accuracy"), errorRate: verdictOf("error_rate")!, latency: verdictOf("latency")! });
  const agreement = shadow ? agreementOf(overallPairs) : null;

  const windowIndexes = [...new Set(counts.flatMap((c) => (c.window === null ? [] : [c.window])))].sort((a, b) => a - b);
  const windows = windowIndexes.map((w): RolloutWindow => {
    const endMs = (w + 1) * options.stepMs;
    return {
      startMs: Math.max(status.startedMs, w * options.stepMs),
      endMs: Math.min(endMs, asOfMs),
      look: lookAt(status.startedMs, endMs, options.stepMs),
      primary: figures(status.primaryVersion, side(w, false)),
      candidate: figures(status.candidateVersion, side(w, true)),
      agreement: shadow ? agreementOf(pairs.find((p) => p.window === w)) : null,
    };
  });
  const timing = shadow ? ("compute" as const) : ("latency" as const);
  const judgement = { fromMs: status.startedMs, toMs: asOfMs, look, alpha, primary, candidate, agreement, timing, tests, verdict, windows };
  return { ...judgement, sentence: verdictSentence(judgement) };
}

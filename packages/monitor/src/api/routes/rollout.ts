import { latestMonitorValues, readMonitorResults } from "@vigil/store";
import { type RolloutJudgement, type VersionFigures, type Agreement, judgeRollout, rolloutStatus } from "../../rollout/rollout-judge.js";
import { ROLLOUT_KIND, VERDICT_METRIC, VERDICT_VALUE } from "../../rollout/rollout-monitor.js";
import type { Verdict } from "../../rollout/rollout-stats.js";
import { modelPath } from "../params.js";
import { type MonitorApiOptions, type Route, defineRoute, requireModel } from "../route.js";
import { type RolloutResponse, rolloutSchema } from "../schemas.js";

const iso = (ms: number) => new Date(ms).toISOString();
/** JSON has no NaN: a figure that is not a number goes out as null. */
const finite = (v: number | null) => (v === null || !Number.isFinite(v) ? null : v);
const DEFAULT_STEP_MS = 3_600_000;

const figuresBody = ({ correct: _, ...f }: VersionFigures) => f;
const agreementBody = (a: Agreement | null) => a && { pairs: a.pairs, agree: a.agree, rate: a.rate, low: finite(a.interval[0]), high: finite(a.interval[1]) };
const verdictOf = (value: number): Verdict | null => (Object.entries(VERDICT_VALUE) as Array<[Verdict, number]>).find(([, v]) => v === value)?.[0] ?? null;

type JudgementBody = NonNullable<NonNullable<RolloutResponse["rollout"]>["judgement"]>;

function judgementBody(j: RolloutJudgement, estimated: Map<string, number>, stored: Map<number, Verdict | null>): JudgementBody {
  return {
    from: iso(j.fromMs),
    to: iso(j.toMs),
    look: j.look,
    alpha: j.alpha,
    versions: {
      primary: { ...figuresBody(j.primary), estimatedAccuracy: estimated.get(j.primary.version) ?? null },
      candidate: { ...figuresBody(j.candidate), estimatedAccuracy: estimated.get(j.candidate.version) ?? null },
    },
    agreement: agreementBody(j.agreement),
    timing: j.timing,
    tests: j.tests.map((t) => ({
      name: t.name,
      method: t.method,
      statistic: finite(t.statistic),
      pValue: t.pValue,
      alpha: t.alpha,
      difference: finite(t.difference),
      low: finite(t.interval[0]),
      high: finite(t.interval[1]),
      n: t.n,
      verdict: t.verdict,
    })),
    verdict: j.verdict,
    sentence: j.sentence,
    windows: j.windows.map((w) => ({
      from: iso(w.startMs),
      to: iso(w.endMs),
      look: w.look,
      primary: figuresBody(w.primary),
      candidate: figuresBody(w.candidate),
      agreement: agreementBody(w.agreement),
      verdict: stored.get(w.endMs) ?? null,
    })),
  };
}

/** A model's rollout: its policy and state, the candidate judged against the primary now, and the figures per monitor window. */
export function rolloutRoutes(options: MonitorApiOptions): Route[] {
  const { engine } = options;
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/models/:model/rollout",
      summary:
        "A model's rollout (config.json `rollout`): policy, state and events, per-version figures since it started, the tests at this look with their alpha, the verdict and its sentence, and the figures per monitor window; rollout null when there is none",
      params: modelPath,
      response: rolloutSchema,
      handler: async ({ params }) => {
        await requireModel(options, params.model, "");
        const model = options.rollouts?.().find((m) => m.name === params.model);
        const status = await rolloutStatus(engine, params.model, model?.rollout);
        if (!status) return { model: params.model, rollout: null };
        const started = status.startedMs;
        let judgement: JudgementBody | null = null;
        if (started !== undefined) {
          const j = await judgeRollout(
            engine,
            { ...status, startedMs: started },
            { stepMs: options.monitorStepMs ?? DEFAULT_STEP_MS, asOfMs: Date.now(), classifier: model?.classifier ?? true },
          );
          const range = { fromMs: started, toMs: j.toMs };
          const [estimates, stored] = await Promise.all([
            latestMonitorValues(engine, { kind: "estimated", metric: "accuracy" }, { model: params.model, version: "", feature: "" }, range),
            readMonitorResults(engine, { kind: ROLLOUT_KIND, model: params.model, version: status.candidateVersion, ...range }),
          ]);
          judgement = judgementBody(
            j,
            new Map(estimates.map((e) => [e.version, e.value])),
            new Map(
              stored
                .filter((r) => r.metric === VERDICT_METRIC && r.details.policy_id === status.policyId)
                .map((r) => [r.window.toUs / 1000, verdictOf(r.value)]),
            ),
          );
        }
        return {
          model: params.model,
          rollout: {
            policyId: status.policyId,
            policy: { ...status.policy },
            mode: status.policy.mode,
            primaryVersion: status.primaryVersion,
            candidateVersion: status.candidateVersion,
            state: status.state,
            startedAt: started === undefined ? null : iso(started),
            events: status.events.map((e) => ({ at: iso(e.timestampMs), action: e.action, actor: e.actor, reason: e.reason })),
            judgement,
          },
        };
      },
    }),
  ];
}

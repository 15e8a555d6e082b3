import { formatDuration } from "@vigil/config";
import type { RolloutPolicy } from "@vigil/model-repository";
import { type MonitorResult, type RolloutEvent, type StoreEngine, saveRolloutEvent } from "@vigil/store";
import { type Slo, alertBurn, burnRateAlerts } from "../alerting/slo.js";
import type { Window } from "../window.js";
import { type RolloutJudgement, type RolloutStatus, judgeRollout, rolloutEventOf, rolloutStatus } from "./rollout-judge.js";
import type { Verdict } from "./rollout-stats.js";

/** Stored rollout results: kind 'rollout', version the candidate's. */
export const ROLLOUT_KIND = "rollout";
/** −1 worse, 0 not yet distinguishable, 1 better; details hold the sentence, the look and the tests. */
export const VERDICT_METRIC = "verdict";
/** Canaries: 1 while the policy is rolled back, with the reason in details. */
export const ROLLED_BACK_METRIC = "rolled_back";

export const VERDICT_VALUE: Record<Verdict, number> = { worse: -1, "not yet distinguishable": 0, better: 1 };

/** A model as rollout judging needs it. */
export interface RolloutModel {
  name: string;
  rollout: RolloutPolicy | undefined;
  /** Classifiers get a quality test. */
  classifier: boolean;
}

export interface RolloutMonitorOptions {
  /** The monitor's step: looks are counted in it. */
  stepMs: number;
  /** The SLOs whose page-level burn on a canary's version rolls it back. */
  slos: Slo[];
  /** Told of every rollback the monitor writes. */
  onRollback?: (event: RolloutEvent) => void;
}

/**
 * The SLOs of a model that burn on one version at the page-level thresholds at `nowMs` (both
 * windows of a critical burn-rate pair above its factor), described in words; the rollups count
 * only traffic clients were answered with, so this judges canaries, not shadows.
 */
async function burningSlos(engine: StoreEngine, slos: Slo[], model: string, version: string, nowMs: number): Promise<string[]> {
  const burning: string[] = [];
  for (const slo of slos.filter((s) => s.model === model && (s.version === "" || s.version === version))) {
    const scoped = { ...slo, version };
    for (const pair of burnRateAlerts(scoped).filter((a) => a.severity === "critical")) {
      const { long, short, firing } = await alertBurn(engine, scoped, pair, nowMs);
      if (firing) {
        burning.push(
          `SLO ${slo.name} (${slo.indicator}, objective ${slo.objective}) burns ${long.toFixed(1)}x its budget over ${formatDuration(pair.longMs)} and ${short.toFixed(1)}x over ${formatDuration(pair.shortMs)} on version ${version} (page threshold ${pair.factor}x)`,
        );
        break;
      }
    }
  }
  return burning;
}

/**
 * The reason a canary is taken out of traffic, in words, or undefined when it stays: its quality
 * or its error rate judged worse, or an SLO burning on its version. A latency judged worse alone
 * does not take it out (a few percent slower can be significant over many rows and still meet
 * every objective): the latency SLOs decide that, and the verdict raises CandidateWorse.
 */
function rollbackReason(judgement: RolloutJudgement, burning: string[]): string | undefined {
  const decisive = judgement.tests.some((t) => (t.name === "accuracy" || t.name === "error_rate") && t.verdict === "worse");
  const reasons = [...(decisive ? [`${judgement.sentence} (look ${judgement.look}, alpha ${judgement.alpha.toPrecision(2)})`] : []), ...burning];
  return reasons.length === 0 ? undefined : reasons.join("; ");
}

function resultRows(window: Window, status: RolloutStatus, judgement: RolloutJudgement, burning: string[]): MonitorResult[] {
  const base = { window, model: status.model, version: status.candidateVersion, kind: ROLLOUT_KIND, feature: "", threshold: Number.NaN } as const;
  const rows: MonitorResult[] = [
    {
      ...base,
      metric: VERDICT_METRIC,
      value: VERDICT_VALUE[judgement.verdict],
      breached: judgement.verdict === "worse",
      details: {
        policy_id: status.policyId,
        mode: status.policy.mode,
        state: status.state,
        primary_version: status.primaryVersion,
        sentence: judgement.sentence,
        look: judgement.look,
        alpha: judgement.alpha,
        started_ms: status.startedMs,
        candidate_rows: judgement.candidate.rows,
        primary_rows: judgement.primary.rows,
        agreement: judgement.agreement?.rate ?? null,
        tests: judgement.tests.map((t) => ({ name: t.name, p_value: t.pValue, difference: t.difference, verdict: t.verdict })),
        slo_burns: burning,
      },
    },
  ];
  if (status.policy.mode === "canary") {
    const rollback = status.events.filter((e) => e.action === "rolled_back").at(-1);
    rows.push({
      ...base,
      metric: ROLLED_BACK_METRIC,
      value: status.state === "rolled_back" ? 1 : 0,
      breached: status.state === "rolled_back",
      details: { policy_id: status.policyId, reason: rollback?.reason ?? "", actor: rollback?.actor ?? "" },
    });
  }
  return rows;
}

/**
 * Judging for the monitor's periodic job: for each model with a rollout that has started, the
 * verdict on every row since the start at the window's end (rows of kind 'rollout'); a canary
 * with auto_rollback judged worse, or burning a page-level SLO on its version, gets one
 * 'rolled_back' event (actor "monitor") per policy. A shadow is only reported: it has no traffic
 * to take away.
 */
export function rolloutJudge(engine: StoreEngine, models: () => RolloutModel[], options: RolloutMonitorOptions): (window: Window) => Promise<MonitorResult[]> {
  return async (window) => {
    const endMs = window.toUs / 1000;
    const results: MonitorResult[] = [];
    for (const model of models()) {
      if (!model.rollout) continue;
      const status = await rolloutStatus(engine, model.name, model.rollout);
      if (!status || status.startedMs === undefined || status.startedMs >= endMs || status.state === "promoted") continue;
      const started = { ...status, startedMs: status.startedMs };
      const judgement = await judgeRollout(engine, started, { stepMs: options.stepMs, asOfMs: endMs, classifier: model.classifier });
      const burning = status.policy.mode === "canary" ? await burningSlos(engine, options.slos, model.name, status.candidateVersion, endMs) : [];
      const reason = rollbackReason(judgement, burning);
      let judged = started;
      if (status.policy.mode === "canary" && status.policy.auto_rollback && status.state === "active" && reason) {
        const event = rolloutEventOf(status, { action: "rolled_back", actor: "monitor", reason, judgedToMs: endMs });
        await saveRolloutEvent(engine, event);
        options.onRollback?.(event);
        judged = { ...started, state: "rolled_back", decidedToMs: endMs, events: [...status.events, event] };
      }
      results.push(...resultRows(window, judged, judgement, burning));
    }
    return results;
  };
}

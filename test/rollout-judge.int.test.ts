import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { RolloutPolicy } from "@vigil/model-repository";
import {
  Alerting,
  ROLLED_BACK_METRIC,
  VERDICT_METRIC,
  judgeRollout,
  parseAlertingConfig,
  parseSlo,
  rolloutJudge,
  rolloutStatus,
  type RolloutModel,
  type Slo,
} from "@vigil/monitor";
import { type Store, listRolloutEvents, saveMonitorResults, saveRolloutEvent } from "@vigil/store";
import { openTestStore } from "./support/recording.js";
import {
  BASE_MS,
  type RolloutRow,
  STEP_MS,
  insertRolloutRows,
  rolloutPolicy,
  rolloutReference,
  shuffleCandidateLabels,
  startedEvent,
  traffic,
} from "./support/rollout.js";
import { tempDir } from "./support/store.js";

const windowEnding = (endMs: number) => ({ fromUs: (endMs - STEP_MS) * 1000, toUs: endMs * 1000 });

describe("judging a rollout from the prediction log", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  const policies = new Map<string, RolloutPolicy>();
  const models = (): RolloutModel[] => [...policies].map(([name, rollout]) => ({ name, rollout, classifier: true }));

  async function plant(model: string, policy: RolloutPolicy, rows: RolloutRow[]): Promise<void> {
    policies.set(model, policy);
    await insertRolloutRows(store.engine, model, rows);
    await saveRolloutEvent(store.engine, startedEvent(model, policy, "1", BASE_MS));
  }

  const canary = rolloutPolicy({ mode: "canary", candidate: 2, canary_weight: 0.2 });
  const shadow = rolloutPolicy({ mode: "shadow", candidate: 2 });
  const worseRows = shuffleCandidateLabels(
    traffic("canary", 1, { rows: 4000, candidateShare: 0.2, primaryAccuracy: 0.8, candidateAccuracy: 0.8, windows: 5 }),
    2,
  );
  const agreementRows = traffic("shadow", 3, { rows: 3000, candidateShare: 1, primaryAccuracy: 0.8, candidateAccuracy: 0.8, windows: 4, copyShare: 0.7 });
  /** What agreement the planted shadow has: the share of OK pairs predicting the same. */
  const plantedAgreement = (() => {
    const primary = new Map(agreementRows.filter((r) => r.role === "primary" && r.status === "OK").map((r) => [r.requestId, r.prediction]));
    const pairs = agreementRows.filter((r) => r.role === "shadow" && r.status === "OK" && primary.has(r.requestId));
    return { pairs: pairs.length, agree: pairs.filter((r) => primary.get(r.requestId) === r.prediction).length };
  })();
  const slo: Slo = parseSlo({ name: "rj-slo-availability", model: "rj-slo", indicator: "availability", objective: 0.99, window: "28d" });

  before(async () => {
    dirs = await tempDir("vigil-rollout-judge-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    await store.ready();
    await plant("rj-worse", canary, worseRows);
    await plant(
      "rj-copy",
      shadow,
      traffic("shadow", 4, { rows: 3000, candidateShare: 1, primaryAccuracy: 0.8, candidateAccuracy: 0.8, windows: 4, copyShare: 1 }),
    );
    await plant("rj-agree", shadow, agreementRows);
    await plant(
      "rj-unlabelled",
      shadow,
      agreementRows.map(({ label: _, ...r }) => r),
    );
    await plant("rj-shadow-worse", shadow, traffic("shadow", 5, { rows: 3000, candidateShare: 1, primaryAccuracy: 0.85, candidateAccuracy: 0.6, windows: 4 }));
    // Half the canary's calls fail in the hour before the judged window ends: its availability SLO burns.
    const failing = traffic("canary", 6, { rows: 3000, candidateShare: 0.3, primaryAccuracy: 0.8, candidateAccuracy: 0.8, windows: 50 }).map((r) =>
      r.role === "canary" && r.timestampUs % 2 === 0 ? { ...r, status: "UNAVAILABLE" } : r,
    );
    await plant("rj-slo", canary, failing);
    await plant(
      "rj-slower",
      canary,
      traffic("canary", 7, { rows: 3000, candidateShare: 0.3, primaryAccuracy: 0.8, candidateAccuracy: 0.8, windows: 4, candidateDelayUs: 300 }),
    );
  });

  after(async () => {
    await store.close();
    await dirs.remove();
  });

  /** The monitor's judging of one model at a window's end. */
  const judgeAt = (model: string, endMs: number, slos: Slo[] = []) =>
    rolloutJudge(store.engine, () => models().filter((m) => m.name === model), { stepMs: STEP_MS, slos })(windowEnding(endMs));
  const statusOf = async (model: string) => {
    const status = await rolloutStatus(store.engine, model, policies.get(model));
    assert.ok(status?.startedMs !== undefined, `${model} started`);
    return { ...status, startedMs: status.startedMs };
  };

  test("a canary whose labels were shuffled is judged worse, rolled back once by the monitor, and raises CandidateRolledBack", async () => {
    const endMs = BASE_MS + 5 * STEP_MS;
    const results = await judgeAt("rj-worse", endMs);
    const verdict = results.find((r) => r.metric === VERDICT_METRIC)!;
    assert.equal(verdict.value, -1, String(verdict.details.sentence));
    assert.equal(verdict.version, "2");
    assert.match(
      String(verdict.details.sentence),
      /^candidate worse than primary: accuracy 0\.\d\d vs 0\.\d\d \(-0\.\d\d, 95% CI -0\.\d\d to -0\.\d\d\), n = [\d,]+ rows$/,
    );
    assert.equal(results.find((r) => r.metric === ROLLED_BACK_METRIC)?.value, 1);

    await saveMonitorResults(store.engine, await judgeAt("rj-worse", endMs + STEP_MS));
    const events = await listRolloutEvents(store.engine, { model: "rj-worse" });
    const rollbacks = events.filter((e) => e.action === "rolled_back");
    assert.equal(rollbacks.length, 1, "one rollback per policy, however many looks judge it worse");
    assert.equal(rollbacks[0]!.actor, "monitor");
    assert.match(rollbacks[0]!.reason, /^candidate worse than primary: accuracy .* \(look 5, alpha 0\.\d+\)$/);
    assert.equal((await statusOf("rj-worse")).state, "rolled_back");
    // A server restarting writes 'started' again; the policy stays rolled back.
    await saveRolloutEvent(store.engine, startedEvent("rj-worse", canary, "1", endMs + 2 * STEP_MS));
    assert.equal((await statusOf("rj-worse")).state, "rolled_back");

    // A decided rollout is judged as it was decided, at the rollback's look, however long after:
    // judged at a later look, the same rows would only be held to a smaller alpha.
    const decided = await statusOf("rj-worse");
    assert.equal(decided.decidedToMs, endMs, "the rollback rests on the rows up to the judged window's end");
    const muchLaterMs = endMs + 2000 * STEP_MS;
    const asDecided = await judgeRollout(store.engine, decided, { stepMs: STEP_MS, asOfMs: muchLaterMs, classifier: true });
    assert.deepEqual([asDecided.verdict, asDecided.look, asDecided.toMs], ["worse", 5, endMs]);
    const monitorLater = (await judgeAt("rj-worse", muchLaterMs)).find((r) => r.metric === VERDICT_METRIC);
    assert.deepEqual([monitorLater?.value, monitorLater?.details.look], [-1, 5], "the monitor keeps reporting the verdict that rolled it back");

    const config = parseAlertingConfig({}, "test", dirs.path);
    const alerting = new Alerting(store.engine, config, { onError: (e) => assert.fail(e) });
    const alerts = await alerting.evaluateOnce(endMs + STEP_MS + 30_000);
    const rolledBack = alerts.find((a) => a.labels.alertname === "CandidateRolledBack" && a.labels.model === "rj-worse");
    assert.ok(rolledBack, `CandidateRolledBack among ${alerts.map((a) => `${a.labels.alertname}/${a.labels.model}`).join(", ")}`);
    assert.deepEqual(rolledBack.labels, { alertname: "CandidateRolledBack", severity: "critical", model: "rj-worse", version: "2" });
    assert.equal(rolledBack.annotations.description, rollbacks[0]!.reason);
    assert.match(rolledBack.annotations.summary!, /candidate version 2 was rolled back/);
  });

  test("a shadow copy of the primary is not yet distinguishable, agrees fully and is never rolled back", async () => {
    const endMs = BASE_MS + 4 * STEP_MS;
    const j = await judgeRollout(store.engine, await statusOf("rj-copy"), { stepMs: STEP_MS, asOfMs: endMs, classifier: true });
    assert.equal(j.verdict, "not yet distinguishable", j.sentence);
    assert.equal(j.agreement?.rate, 1);
    const accuracy = j.tests.find((t) => t.name === "accuracy")!;
    assert.equal(accuracy.method, "mcnemar_exact");
    assert.equal(accuracy.pValue, 1);
    assert.equal(accuracy.difference, 0);
    assert.equal(j.candidate.accuracy, j.primary.accuracy);
    assert.equal(j.look, 4);
    const results = await judgeAt("rj-copy", endMs);
    assert.equal(results.find((r) => r.metric === VERDICT_METRIC)?.value, 0);
    assert.equal((await listRolloutEvents(store.engine, { model: "rj-copy" })).filter((e) => e.action !== "started").length, 0);
  });

  test("shadow agreement, latency percentiles and the rank test computed in SQL match the planted rows and scipy", async () => {
    const endMs = BASE_MS + 4 * STEP_MS;
    const j = await judgeRollout(store.engine, await statusOf("rj-agree"), { stepMs: STEP_MS, asOfMs: endMs, classifier: true });
    assert.equal(j.agreement?.pairs, plantedAgreement.pairs);
    assert.equal(j.agreement?.agree, plantedAgreement.agree);
    assert.equal(j.agreement?.rate, plantedAgreement.agree / plantedAgreement.pairs);
    assert.equal(
      j.windows.reduce((sum, w) => sum + (w.agreement?.agree ?? 0), 0),
      plantedAgreement.agree,
      "the windows' agreements add up to the whole",
    );
    assert.equal(j.windows.length, 4);

    const ok = (role: string) => agreementRows.filter((r) => r.role === role && r.status === "OK").map((r) => r.latencyUs);
    const ref = rolloutReference({ mann_whitney: [{ x: ok("shadow"), y: ok("primary") }], percentiles: [{ values: ok("shadow") }, { values: ok("primary") }] });
    const latency = j.tests.find((t) => t.name === "latency")!;
    assert.equal(latency.statistic, ref.mann_whitney[0]!.u);
    assert.ok(
      Math.abs(latency.pValue - ref.mann_whitney[0]!.p) <= 1e-9 * Math.max(ref.mann_whitney[0]!.p, 1e-300),
      `p ${latency.pValue} vs ${ref.mann_whitney[0]!.p}`,
    );
    const percentiles = (f: typeof j.candidate) => [f.latencyMs!.p50, f.latencyMs!.p95, f.latencyMs!.p99].map((v) => v * 1000);
    const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]!) <= 1e-9 * b[i]!);
    assert.ok(close(percentiles(j.candidate), ref.percentiles[0]!), `candidate ${percentiles(j.candidate)} vs ${ref.percentiles[0]}`);
    assert.ok(close(percentiles(j.primary), ref.percentiles[1]!), `primary ${percentiles(j.primary)} vs ${ref.percentiles[1]}`);
  });

  test("without labels a shadow gets no quality test; its sentence gives the agreement", async () => {
    const j = await judgeRollout(store.engine, await statusOf("rj-unlabelled"), { stepMs: STEP_MS, asOfMs: BASE_MS + 4 * STEP_MS, classifier: true });
    assert.deepEqual(
      j.tests.map((t) => t.name),
      ["error_rate", "latency"],
    );
    assert.equal(j.candidate.labelled, 0);
    assert.equal(j.agreement?.agree, plantedAgreement.agree);
    assert.match(
      j.sentence,
      /^candidate not yet distinguishable from primary: agreement 0\.\d{3} \(95% CI 0\.\d{3} to 0\.\d{3}\), no quality test, n = [\d,]+ pairs$/,
    );
  });

  test("a shadow judged worse is reported and raises CandidateWorse, but is not rolled back", async () => {
    const endMs = BASE_MS + 4 * STEP_MS;
    const results = await judgeAt("rj-shadow-worse", endMs);
    const verdict = results.find((r) => r.metric === VERDICT_METRIC)!;
    assert.equal(verdict.value, -1, String(verdict.details.sentence));
    assert.ok(verdict.breached);
    assert.equal(
      results.some((r) => r.metric === ROLLED_BACK_METRIC),
      false,
    );
    assert.equal((await listRolloutEvents(store.engine, { model: "rj-shadow-worse" })).filter((e) => e.action === "rolled_back").length, 0);
    await saveMonitorResults(store.engine, results);
    const alerting = new Alerting(store.engine, parseAlertingConfig({}, "test", dirs.path), { onError: (e) => assert.fail(e) });
    const alerts = await alerting.evaluateOnce(endMs + 30_000);
    const worse = alerts.find((a) => a.labels.alertname === "CandidateWorse" && a.labels.model === "rj-shadow-worse");
    assert.ok(worse, "CandidateWorse fires");
    assert.equal(worse.labels.severity, "warning");
    assert.equal(worse.annotations.description, verdict.details.sentence);
  });

  test("a canary judged worse on latency alone stays in traffic and raises CandidateWorse: only quality, errors or a burning SLO roll back", async () => {
    const endMs = BASE_MS + 4 * STEP_MS;
    const results = await judgeAt("rj-slower", endMs);
    const verdict = results.find((r) => r.metric === VERDICT_METRIC)!;
    assert.equal(verdict.value, -1, String(verdict.details.sentence));
    assert.match(String(verdict.details.sentence), /^candidate worse than primary: p95 latency /);
    assert.equal(results.find((r) => r.metric === ROLLED_BACK_METRIC)?.value, 0);
    assert.equal((await listRolloutEvents(store.engine, { model: "rj-slower" })).filter((e) => e.action === "rolled_back").length, 0);
    await saveMonitorResults(store.engine, results);
    const alerting = new Alerting(store.engine, parseAlertingConfig({}, "test", dirs.path), { onError: (e) => assert.fail(e) });
    const alerts = await alerting.evaluateOnce(endMs + 30_000);
    assert.ok(
      alerts.some((a) => a.labels.alertname === "CandidateWorse" && a.labels.model === "rj-slower"),
      "CandidateWorse fires",
    );
  });

  test("a canary burning its model's availability SLO at the page threshold is rolled back with the burn in the reason", async () => {
    const endMs = BASE_MS + 50 * STEP_MS;
    await judgeAt("rj-slo", endMs, [slo]);
    const [rollback] = (await listRolloutEvents(store.engine, { model: "rj-slo" })).filter((e) => e.action === "rolled_back");
    assert.ok(rollback, "rolled back");
    assert.match(
      rollback.reason,
      /SLO rj-slo-availability \(availability, objective 0\.99\) burns [\d.]+x its budget over .* on version 2 \(page threshold 14\.4x\)/,
    );
  });

  test("over 40 seeded replays without a difference, at most the significance of runs ever leave 'not yet distinguishable' across 6 looks", async (ctx) => {
    const RUNS = 40;
    const LOOKS = 6;
    const noDifference = rolloutPolicy({ mode: "canary", candidate: 2, canary_weight: 0.5, auto_rollback: false });
    for (let run = 0; run < RUNS; run++) {
      await plant(
        `rj-null-${run}`,
        noDifference,
        traffic("canary", 100 + run, { rows: 1200, candidateShare: 0.5, primaryAccuracy: 0.8, candidateAccuracy: 0.8, windows: LOOKS, errorRate: 0.03 }),
      );
    }
    let departed = 0;
    // For comparison, the runs in which some test at some look had p < 0.05: what judging each look at the full significance would call.
    let departedUnspent = 0;
    let looks = 0;
    for (let run = 0; run < RUNS; run++) {
      const status = await statusOf(`rj-null-${run}`);
      let left = false;
      let leftUnspent = false;
      for (let look = 1; look <= LOOKS; look++) {
        const j = await judgeRollout(store.engine, status, { stepMs: STEP_MS, asOfMs: BASE_MS + look * STEP_MS, classifier: true });
        assert.equal(j.look, look);
        looks++;
        left ||= j.verdict !== "not yet distinguishable";
        leftUnspent ||= j.tests.some((t) => t.pValue < 0.05);
      }
      if (left) departed++;
      if (leftUnspent) departedUnspent++;
    }
    ctx.diagnostic(
      `${departed} of ${RUNS} runs left 'not yet distinguishable' with the spending; ${departedUnspent} of ${RUNS} had a test at p < 0.05 at some look`,
    );
    // Each run leaves with probability at most 0.05 (alpha spending over looks and tests). Were it
    // exactly 0.05, more than 6 of 40 would happen with probability 0.003 (binomial tail); without
    // the spending (0.05 per test and look) about a third of the runs would leave.
    assert.ok(departed <= 6, `${departed} of ${RUNS} runs left 'not yet distinguishable' (${looks} looks)`);
  });
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { RolloutPolicy } from "@vigil/model-repository";
import { type RolloutModel, errorSchema, lookAlpha, rolloutJudge, rolloutSchema, startMonitorApi } from "@vigil/monitor";
import { type Store, saveMonitorResults, saveRolloutEvent } from "@vigil/store";
import { openTestStore } from "./support/recording.js";
import { BASE_MS, STEP_MS, type RolloutRow, insertRolloutRows, rolloutPolicy, shuffleCandidateLabels, startedEvent, traffic } from "./support/rollout.js";
import { tempDir } from "./support/store.js";

const TOKEN = "rollout-api-token";

/** GET /api/v1/models/{model}/rollout over a real store: the body a version-comparison page needs, and its 404. */
describe("monitor API: a model's rollout", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  let plantedRows: RolloutRow[];
  let api: Awaited<ReturnType<typeof startMonitorApi>>;
  const known = new Set(["ra-canary", "ra-watched", "ra-plain", "ra-pending"]);
  const policies = new Map<string, RolloutPolicy | undefined>();
  const canary = rolloutPolicy({ mode: "canary", candidate: 2, canary_weight: 0.2 });
  const watched = rolloutPolicy({ mode: "canary", candidate: 2, canary_weight: 0.2, auto_rollback: false });
  const rollouts = (): RolloutModel[] => [...known].map((name) => ({ name, rollout: policies.get(name), classifier: true }));

  const get = async (model: string) => {
    const response = await fetch(`${api.url}/api/v1/models/${model}/rollout`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const raw: unknown = await response.json();
    return response.status === 200
      ? { status: 200, body: rolloutSchema.parse(raw), error: undefined }
      : { status: response.status, body: undefined, error: errorSchema.parse(raw).error };
  };

  before(async () => {
    dirs = await tempDir("vigil-rollout-api-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    await store.ready();
    policies.set("ra-canary", canary);
    policies.set("ra-watched", watched);
    policies.set("ra-pending", rolloutPolicy({ mode: "shadow", candidate: 3, primary: 2 }));
    plantedRows = shuffleCandidateLabels(
      traffic("canary", 11, { rows: 3000, candidateShare: 0.2, primaryAccuracy: 0.8, candidateAccuracy: 0.8, windows: 3 }),
      12,
    );
    // The same traffic twice: ra-canary is rolled back by the monitor at its first window, ra-watched (no auto_rollback) stays in traffic.
    for (const [model, policy] of [
      ["ra-canary", canary],
      ["ra-watched", watched],
    ] as const) {
      // Labels are keyed by request id: each model's copy gets ids of its own.
      await insertRolloutRows(
        store.engine,
        model,
        plantedRows.map((r) => ({ ...r, requestId: `${model}-${r.requestId}` })),
      );
      await saveRolloutEvent(store.engine, startedEvent(model, policy, "1", BASE_MS));
    }
    // The monitor judged the first two windows.
    const judge = rolloutJudge(store.engine, () => rollouts().filter((m) => m.name === "ra-canary" || m.name === "ra-watched"), { stepMs: STEP_MS, slos: [] });
    for (const endMs of [BASE_MS + STEP_MS, BASE_MS + 2 * STEP_MS]) {
      await saveMonitorResults(store.engine, await judge({ fromUs: (endMs - STEP_MS) * 1000, toUs: endMs * 1000 }));
    }
    api = await startMonitorApi({
      engine: store.engine,
      host: "127.0.0.1",
      port: 0,
      tokens: [TOKEN],
      models: async (name, version) =>
        known.has(name) ? { name, version, classes: ["on_time", "delayed"], features: [], profiles: [], inputs: [] } : undefined,
      rollouts,
      monitorStepMs: STEP_MS,
      slos: [],
    });
  });

  after(async () => {
    await api?.close();
    await store?.close();
    await dirs?.remove();
  });

  test("an unknown model is a 404 naming it", async () => {
    const { status, error } = await get("nope");
    assert.equal(status, 404);
    assert.equal(error, 'model "nope" is not known to the monitor (it has no config.json in the model repository)');
  });

  test("a model without a rollout answers rollout null; one no server has applied yet is pending, without a judgement", async () => {
    assert.deepEqual((await get("ra-plain")).body, { model: "ra-plain", rollout: null });
    const pending = (await get("ra-pending")).body!.rollout!;
    assert.equal(pending.state, "pending");
    assert.equal(pending.startedAt, null);
    assert.equal(pending.judgement, null);
    assert.deepEqual([pending.mode, pending.primaryVersion, pending.candidateVersion], ["shadow", "2", "3"]);
  });

  test("a canary judged worse and rolled back: policy, state, events, and the judgement as it was decided, at the rollback's look", async () => {
    const { status, body } = await get("ra-canary");
    assert.equal(status, 200);
    const rollout = body!.rollout!;
    assert.equal(rollout.state, "rolled_back");
    assert.equal(rollout.startedAt, new Date(BASE_MS).toISOString());
    assert.deepEqual(
      rollout.events.map((e) => [e.action, e.actor]),
      [
        ["started", "server"],
        ["rolled_back", "monitor"],
      ],
    );
    assert.equal(rollout.policy.canary_weight, 0.2);
    const j = rollout.judgement!;
    assert.deepEqual([j.from, j.to], [rollout.startedAt, new Date(BASE_MS + STEP_MS).toISOString()], "the rows up to the judged window's end");
    assert.equal(j.look, 1, "the look that rolled it back, two hours later");
    assert.equal(j.alpha, lookAlpha(0.05, 1));
    assert.equal(j.verdict, "worse");
    assert.match(j.sentence, /^candidate worse than primary: accuracy 0\.\d\d vs 0\.\d\d/);
    const firstWindowRows = plantedRows.filter((r) => r.timestampUs < (BASE_MS + STEP_MS) * 1000).length;
    assert.equal(j.versions.primary.rows + j.versions.candidate.rows, firstWindowRows);
    assert.deepEqual(
      j.windows.map((w) => [w.look, w.verdict]),
      [[1, "worse"]],
    );
  });

  test("a canary judged worse and left in traffic: figures, tests with this look's alpha, verdict and per-window series", async () => {
    const { status, body } = await get("ra-watched");
    assert.equal(status, 200);
    const rollout = body!.rollout!;
    assert.equal(rollout.state, "active");
    const j = rollout.judgement!;
    assert.equal(j.from, rollout.startedAt);
    assert.ok(j.look >= 120, `look ${j.look}: a minute's step over two hours`);
    assert.equal(j.alpha, lookAlpha(0.05, j.look));
    assert.equal(j.verdict, "worse");
    assert.match(j.sentence, /^candidate worse than primary: accuracy 0\.\d\d vs 0\.\d\d/);
    assert.equal(j.versions.primary.version, "1");
    assert.equal(j.versions.candidate.version, "2");
    assert.equal(j.versions.primary.rows + j.versions.candidate.rows, 3000);
    assert.ok(j.versions.candidate.accuracy! < j.versions.primary.accuracy! - 0.15);
    assert.deepEqual(
      j.tests.map((t) => [t.name, t.method]),
      [
        ["accuracy", "two_proportion_z"],
        ["error_rate", "two_proportion_z"],
        ["latency", "mann_whitney_u"],
      ],
    );
    for (const t of j.tests) assert.equal(t.alpha, j.alpha / 3, `${t.name}: the look's alpha split over three tests`);
    assert.equal(j.agreement, null, "agreement is a shadow's figure");
    assert.deepEqual(
      j.windows.map((w) => [w.look, w.verdict]),
      [
        [1, "worse"],
        [2, "worse"],
        [3, null],
      ],
      "the monitor's stored verdicts per window; none where it has not judged",
    );
    assert.equal(
      j.windows.reduce((n, w) => n + w.primary.rows + w.candidate.rows, 0),
      3000,
    );
  });

  test("once config.json drops the rollout, the newest recorded policy is still shown", async () => {
    policies.set("ra-canary", undefined);
    try {
      const rollout = (await get("ra-canary")).body!.rollout!;
      assert.equal(rollout.state, "rolled_back");
      assert.equal(rollout.candidateVersion, "2");
    } finally {
      policies.set("ra-canary", canary);
    }
  });
});

import assert from "node:assert/strict";
import { type IncomingMessage, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startMonitoring } from "@vigil/cli";
import { DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME } from "@vigil/demo-model";
import { MODEL_CONFIG_FILE, parseModelConfig } from "@vigil/model-repository";
import { type CatalogModel, loadMonitorConfig, parseAlertingConfig } from "@vigil/monitor";
import { type Store, listRolloutEvents, saveRolloutEvent } from "@vigil/store";
import { readJsonObject } from "@vigil/config";
import { openTestStore } from "./support/recording.js";
import { BASE_MS, insertRolloutRows, shuffleCandidateLabels, startedEvent, traffic } from "./support/rollout.js";
import { eventually, quietLog, tempDir } from "./support/store.js";

/**
 * The monitoring side of a process as `vigil serve` starts it (monitor job and alerting on one
 * store): a canary judged worse is rolled back by the scheduled job, and CandidateRolledBack
 * reaches a webhook receiver.
 */
describe("the monitor's schedule rolls back a worse canary and notifies", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  const received: Array<{ body: string; headers: IncomingMessage["headers"] }> = [];
  const hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ body: Buffer.concat(chunks).toString("utf8"), headers: req.headers });
      res.writeHead(200).end();
    });
  });

  before(async () => {
    dirs = await tempDir("vigil-rollout-monitor-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    await store.ready();
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
  });

  after(async () => {
    await new Promise<void>((resolve) => hook.close(() => resolve()));
    await store?.close();
    await dirs?.remove();
  });

  test("rolled back once by the monitor (actor monitor), and CandidateRolledBack is delivered", async () => {
    const dir = join(DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME);
    const raw = readJsonObject(join(dir, MODEL_CONFIG_FILE), "model config");
    const config = parseModelConfig("test", { ...raw, version_policy: { specific: [1, 2] }, rollout: { mode: "canary", candidate: 2, canary_weight: 0.2 } });
    const catalog = (): CatalogModel[] => [{ name: "rm-canary", config, dir }];
    const rows = shuffleCandidateLabels(
      traffic("canary", 31, { rows: 3000, candidateShare: 0.2, primaryAccuracy: 0.8, candidateAccuracy: 0.8, windows: 3 }),
      32,
    );
    await insertRolloutRows(store.engine, "rm-canary", rows);
    await saveRolloutEvent(store.engine, startedEvent("rm-canary", config.rollout!, "1", BASE_MS));

    const { port } = hook.address() as AddressInfo;
    const alerting = parseAlertingConfig(
      {
        evaluation_interval: "1s",
        receivers: [{ name: "ops", webhook: { url: `http://127.0.0.1:${port}/hook` } }],
        route: { receiver: "ops", group_wait: "0s" },
        outbox_dir: join(dirs.path, "outbox"),
      },
      "test alerting",
      dirs.path,
    );
    const lines: string[] = [];
    const monitoring = startMonitoring(
      store.engine,
      catalog,
      { monitor: loadMonitorConfig({ overrides: { window: "2s", lag: "0s" } }), alerting },
      { log: quietLog, onLines: (l) => lines.push(...l) },
    );
    try {
      await monitoring.started;
      const rollbacks = await eventually(
        async () => (await listRolloutEvents(store.engine, { model: "rm-canary" })).filter((e) => e.action === "rolled_back"),
        (events) => events.length > 0,
        "the monitor to roll the canary back",
      );
      assert.equal(rollbacks[0]!.actor, "monitor");
      assert.match(rollbacks[0]!.reason, /^candidate worse than primary: accuracy/);
      const delivered = await eventually(
        async () => received.find((r) => r.body.includes("CandidateRolledBack")),
        Boolean,
        "CandidateRolledBack at the webhook",
      );
      const payload = JSON.parse(delivered!.body) as { alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }> };
      const alert = payload.alerts.find((a) => a.labels.alertname === "CandidateRolledBack")!;
      assert.deepEqual([alert.status, alert.labels.severity, alert.labels.model, alert.labels.version], ["firing", "critical", "rm-canary", "2"]);
      assert.equal(alert.annotations.description, rollbacks[0]!.reason);
      assert.ok(
        lines.some((l) => l.startsWith("rollout: model rm-canary candidate version 2 rolled back: candidate worse")),
        "the console hears of it",
      );
    } finally {
      await monitoring.stop();
    }
    const all = await listRolloutEvents(store.engine, { model: "rm-canary" });
    assert.equal(all.filter((e) => e.action === "rolled_back").length, 1, "once per policy, over every window the schedule judged");
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AlertRow } from "./alert-links";
import { groupAlerts, modelStatus } from "./model-status";

const alert = (labels: Record<string, string>, metric: string | null, state = "firing"): AlertRow => ({
  fingerprint: JSON.stringify(labels),
  rule: labels.alertname ?? "Rule",
  labels,
  annotations: {},
  state,
  value: 1,
  condition: metric === null ? null : { metric, op: ">", threshold: 0 },
  window: { start: "2026-11-30T14:00:00.000Z", end: "2026-11-30T15:00:00.000Z" },
  startsAt: "2026-11-30T15:00:00.000Z",
  endsAt: null,
  changedAt: "2026-11-30T15:00:00.000Z",
});

describe("model status and alert groups", () => {
  test("each area is firing, warning (pending) or ok, from the alerts about that model", () => {
    const alerts = [
      alert({ alertname: "Drift", severity: "warning", model: "m", feature: "hour" }, "drift.score"),
      alert({ alertname: "Accuracy", severity: "critical", model: "m" }, "quality.accuracy", "pending"),
      alert({ alertname: "SLOBurnRate", severity: "critical", model: "other", slo: "s" }, "burn_rate"),
    ];
    const status = modelStatus("m", alerts, 0);
    assert.deepEqual(Object.fromEntries(Object.entries(status).map(([area, s]) => [area, [s.status, s.alerts.length]])), {
      serving: ["ok", 0],
      quality: ["warning", 1],
      drift: ["firing", 1],
      slo: ["ok", 0],
    });
    assert.equal(modelStatus("m", [], 3).serving.status, "warning", "server-side errors in the range are worth a look");
    assert.equal(modelStatus("other", alerts, 0).slo.status, "firing");
  });

  test("alerts group by name and model, the group with the most urgent alert first", () => {
    const groups = groupAlerts([
      alert({ alertname: "Drift", severity: "warning", model: "m", feature: "hour" }, "drift.score"),
      alert({ alertname: "SLOBurnRate", severity: "warning", model: "m", long_window: "1d" }, "burn_rate"),
      alert({ alertname: "Drift", severity: "warning", model: "m", feature: "origin" }, "drift.score"),
      alert({ alertname: "SLOBurnRate", severity: "critical", model: "m", long_window: "1h" }, "burn_rate"),
      alert({ alertname: "Drift", severity: "warning", model: "n", feature: "hour" }, "drift.score"),
    ]);
    assert.deepEqual(
      groups.map((g) => [g.alertname, g.model, g.alerts.map((a) => a.labels.long_window ?? a.labels.feature)]),
      [
        ["SLOBurnRate", "m", ["1h", "1d"]],
        ["Drift", "m", ["hour", "origin"]],
        ["Drift", "n", ["hour"]],
      ],
    );
  });
});

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { formatDuration, parseDuration, parseTime } from "@vigil/config";
import { driftOptionsFor, loadMonitorConfig } from "./index.js";

const tempDir = async (prefix: string) => {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
};

describe("monitor settings", () => {
  test("durations are written as Prometheus writes them", () => {
    assert.deepEqual(["500ms", "30s", "5m", "1.5h", "28d", "1w"].map(parseDuration), [500, 30_000, 300_000, 5_400_000, 2_419_200_000, 604_800_000]);
    assert.deepEqual([300_000, 90_000, 1500, 2_419_200_000].map(formatDuration), ["5m", "90s", "1500ms", "4w"]);
    for (const bad of ["5", "m", "5 minutes", "-5m", ""])
      assert.throws(() => parseDuration(bad), /is not a duration: write a number and one of ms, s, m, h, d, w/);
  });

  test("defaults: one-hour tumbling windows two minutes behind, Evidently's thresholds", () => {
    const config = loadMonitorConfig();
    assert.deepEqual(
      { window: config.window, step: config.step, lag: config.lag, enabled: config.enabled },
      { window: 3_600_000, step: 3_600_000, lag: 120_000, enabled: true },
    );
    assert.deepEqual(driftOptionsFor(config, "any"), {
      smallReference: undefined,
      pValue: undefined,
      distance: undefined,
      perFeature: {},
      datasetDriftShare: undefined,
    });
  });

  test("a file sets sliding windows and per-model, per-feature thresholds over the defaults", async () => {
    const dir = await tempDir("vigil-monitor-config-");
    const file = join(dir.path, "monitor.json");
    await writeFile(
      file,
      JSON.stringify({
        window: "1h",
        step: "5m",
        lag: "30s",
        drift: { distance: 0.2, features: { hour: { method: "psi", threshold: 0.25 } } },
        models: { flights: { drift: { p_value: 0.01, dataset_drift_share: 0.3, features: { distance: { threshold: 0.15 } } } }, retired: { enabled: false } },
      }),
    );
    const config = loadMonitorConfig({ file });
    await dir.remove();
    assert.deepEqual([config.window, config.step, config.lag], [3_600_000, 300_000, 30_000]);
    assert.deepEqual(driftOptionsFor(config, "flights"), {
      smallReference: undefined,
      pValue: 0.01,
      distance: 0.2,
      perFeature: { hour: { method: "psi", threshold: 0.25 }, distance: { threshold: 0.15 } },
      datasetDriftShare: 0.3,
    });
    assert.equal(driftOptionsFor(config, "other").pValue, undefined);
    assert.equal(config.models.retired!.enabled, false);
  });

  test("every wrong field is named in one error", async () => {
    const dir = await tempDir("vigil-monitor-config-");
    const file = join(dir.path, "monitor.json");
    await writeFile(file, JSON.stringify({ window: "an hour", lag: -5, drift: { p_value: 2, features: { hour: { method: "magic" } } }, colour: "blue" }));
    const error = (() => {
      try {
        loadMonitorConfig({ file });
        return "";
      } catch (e) {
        return (e as Error).message;
      }
    })();
    await dir.remove();
    assert.ok(error.startsWith(`monitor config ${file} is invalid:`), error);
    for (const field of ["window", "lag", "drift.p_value", "drift.features.hour.method", "(root)"])
      assert.ok(error.includes(`- ${field}:`), `names ${field}: ${error}`);
    assert.throws(() => loadMonitorConfig({ overrides: { window: "5m", step: "10m" } }), /- step: must be longer than 0 and at most the window/);
    assert.throws(() => loadMonitorConfig({ file: join(dir.path, "missing.json") }), /cannot read monitor config .*missing\.json/);
  });

  test("report times: ISO 8601, now, or a duration before now", () => {
    const now = Date.parse("2026-11-23T12:00:00Z");
    assert.equal(parseTime("now", now), now);
    assert.equal(parseTime("-90m", now), Date.parse("2026-11-23T10:30:00Z"));
    assert.equal(parseTime("now-1d", now), Date.parse("2026-11-22T12:00:00Z"));
    assert.equal(parseTime("2026-11-23T08:15:00Z", now), Date.parse("2026-11-23T08:15:00Z"));
    assert.equal(parseTime("1795430000000", now), 1_795_430_000_000);
    assert.throws(() => parseTime("yesterday", now), /"yesterday" is not a time: write ISO 8601/);
  });
});

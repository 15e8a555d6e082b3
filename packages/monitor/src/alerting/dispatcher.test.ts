import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { type Alert, Dispatcher, type Route, fingerprint, matches, parseMatcher, robustZScore, routesFor } from "../index.js";

const MINUTE = 60_000;
/** A whole minute, as alerts in the store would start on. */
const END = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;

const alert = (name: string, labels: Record<string, string>, state: Alert["state"] = "firing", startsAt = END): Alert => {
  const all = { alertname: name, ...labels };
  return {
    fingerprint: fingerprint(all),
    rule: name,
    labels: all,
    annotations: { summary: `${name} summary` },
    state,
    value: 1,
    startsAt,
    ...(state === "resolved" ? { endsAt: startsAt + MINUTE } : {}),
  };
};

describe("alert routing, grouping and suppression", () => {
  const route = (overrides: Partial<Route> = {}): Route => ({
    id: "0",
    receiver: "default",
    matchers: [],
    groupBy: ["alertname"],
    groupWaitMs: 30_000,
    groupIntervalMs: 300_000,
    repeatIntervalMs: 4 * 3_600_000,
    continue: false,
    routes: [],
    ...overrides,
  });

  test("matchers: equality, negation and anchored regexes; a missing label reads as empty", () => {
    const labels = { alertname: "HighErrorRate", model: "flights", severity: "critical" };
    assert.ok(matches(labels, [parseMatcher('model="flights"'), parseMatcher('severity=~"crit.*"')]));
    assert.ok(!matches(labels, [parseMatcher('severity=~"crit"')]), "regexes are anchored");
    assert.ok(matches(labels, [parseMatcher('team=""'), parseMatcher('model!~"other|x"')]));
    assert.throws(() => parseMatcher("model=flights"), /is not name="value"/);
    assert.throws(() => parseMatcher('model=~"("'), /Invalid regular expression/);
    assert.equal(fingerprint({ b: "2", a: "1" }), fingerprint({ a: "1", b: "2" }), "label order does not matter");
    assert.notEqual(fingerprint({ a: "1" }), fingerprint({ a: "2" }));
  });

  test("routes: the first matching child, siblings after it only with continue, else the parent", () => {
    const tree = route({
      routes: [
        route({ id: "0.0", receiver: "pager", matchers: [parseMatcher('severity="critical"')], continue: true }),
        route({ id: "0.1", receiver: "ml-team", matchers: [parseMatcher('model="flights"')] }),
        route({ id: "0.2", receiver: "never", matchers: [parseMatcher('model="flights"')] }),
      ],
    });
    assert.deepEqual(
      routesFor(tree, { severity: "critical", model: "flights" }).map((r) => r.receiver),
      ["pager", "ml-team"],
    );
    assert.deepEqual(
      routesFor(tree, { severity: "warning", model: "flights" }).map((r) => r.receiver),
      ["ml-team"],
    );
    assert.deepEqual(
      routesFor(tree, { severity: "warning", model: "other" }).map((r) => r.receiver),
      ["default"],
    );
  });

  test("group_wait, group_interval and repeat_interval as Alertmanager times them; resolved once", () => {
    const dispatcher = new Dispatcher(route({ groupBy: ["alertname"], groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 3_600_000 }), [], {
      externalUrl: "http://vigil",
      sendResolved: () => true,
      maxAlerts: () => 0,
    });
    const t = END;
    const a = alert("HighErrorRate", { model: "flights" });
    const b = alert("HighErrorRate", { model: "other" });
    dispatcher.ingest([a], t);
    assert.equal(dispatcher.due(t + 29_000).notifications.length, 0, "waits group_wait");
    dispatcher.ingest([a, b], t + 20_000);
    const first = dispatcher.due(t + 30_000).notifications;
    assert.equal(first.length, 1, "one notification for the group");
    assert.deepEqual(
      first[0]!.payload.alerts.map((x) => x.labels.model),
      ["flights", "other"],
    );
    assert.deepEqual(
      [first[0]!.payload.version, first[0]!.payload.status, first[0]!.payload.groupLabels, first[0]!.payload.commonLabels],
      ["4", "firing", { alertname: "HighErrorRate" }, { alertname: "HighErrorRate" }],
    );
    assert.equal(first[0]!.payload.alerts[0]!.endsAt, "0001-01-01T00:00:00Z");
    assert.equal(dispatcher.due(t + 100_000).notifications.length, 0, "nothing before group_interval");
    assert.equal(dispatcher.due(t + 330_000).notifications.length, 0, "unchanged at group_interval: not sent");
    dispatcher.ingest([{ ...a, state: "resolved", endsAt: t + 400_000 }, b], t + 400_000);
    const resolved = dispatcher.due(t + 630_000).notifications;
    assert.deepEqual(
      resolved[0]!.payload.alerts.map((x) => [x.labels.model, x.status]),
      [
        ["flights", "resolved"],
        ["other", "firing"],
      ],
    );
    assert.equal(dispatcher.due(t + 930_000).notifications.length, 0, "the resolution is sent once");
    assert.equal(dispatcher.due(t + 630_000 + 3_600_000).notifications.length, 1, "repeat_interval resends a still-firing group");
  });

  test("silences and inhibition keep alerts out of notifications and report them once", () => {
    const inhibit = [{ source: [parseMatcher('severity="critical"')], target: [parseMatcher('severity="warning"')], equal: ["model"] }];
    const dispatcher = new Dispatcher(route({ groupBy: ["..."], groupWaitMs: 0 }), inhibit, {
      externalUrl: "http://vigil",
      sendResolved: () => true,
      maxAlerts: () => 0,
    });
    const critical = alert("SLOBurnRate", { model: "flights", severity: "critical" });
    const warning = alert("SLOBurnRate", { model: "flights", severity: "warning" });
    const otherWarning = alert("SLOBurnRate", { model: "other", severity: "warning" });
    const drift = alert("InputDrift", { model: "flights", severity: "info" });
    dispatcher.setSilences([
      { id: "s1", matchers: [parseMatcher('alertname="InputDrift"')], startsAt: END - MINUTE, endsAt: END + 10 * MINUTE, createdBy: "t", comment: "" },
    ]);
    dispatcher.ingest([critical, warning, otherWarning, drift], END);
    const { notifications, suppressed } = dispatcher.due(END);
    assert.deepEqual(notifications.map((n) => `${n.payload.alerts[0]!.labels.severity}:${n.payload.alerts[0]!.labels.model}`).sort(), [
      "critical:flights",
      "warning:other",
    ]);
    assert.deepEqual(suppressed.map((s) => s.reason.split(" ")[0]).sort(), ["inhibited", "silenced"]);
    assert.equal(dispatcher.due(END + 400_000).suppressed.length, 0, "reported once");
  });

  test("robust z-score matches scipy's median absolute deviation (normal scale)", async () => {
    const baseline = Array.from({ length: 45 }, (_, i) => 3 + ((i * 37) % 11) / 10 + (i % 7 === 0 ? 4 : 0));
    const points = [2.5, 3.4, 9, 40];
    const python =
      "import json,sys\nfrom scipy.stats import median_abs_deviation\nimport numpy as np\nb,xs=json.load(sys.stdin)\nm=np.median(b); s=median_abs_deviation(b, scale='normal')\nprint(json.dumps([(x-m)/s for x in xs]))";
    const child = promisify(execFile)("/usr/bin/python3", ["-c", python], { encoding: "utf8" });
    child.child.stdin!.end(JSON.stringify([baseline, points]));
    const expected = JSON.parse((await child).stdout) as number[];
    for (const [i, x] of points.entries())
      assert.ok(Math.abs(robustZScore(baseline, x) - expected[i]!) <= 1e-9, `z(${x}) ${robustZScore(baseline, x)} vs ${expected[i]}`);
    assert.equal(robustZScore([5, 5, 5, 5], 5), 0);
    assert.equal(robustZScore([5, 5, 5, 5], 6), Number.POSITIVE_INFINITY);
    assert.ok(Math.abs(robustZScore([5, 5, 5, 5, 7], 9) - 4 / (1.2533141373155001 * 0.4)) < 1e-12, "MAD 0: the mean absolute deviation stands in");
  });
});

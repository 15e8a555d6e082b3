import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type AlertRow, alertLinks, attentionOrder, silenceMatchers, valueText } from "./alert-links";

const WINDOW = { start: "2026-11-30T14:00:00.000Z", end: "2026-11-30T15:00:00.000Z" };

const alert = (labels: Record<string, string>, condition: AlertRow["condition"], extra: Partial<AlertRow> = {}): AlertRow => ({
  fingerprint: "0123456789abcdef",
  rule: labels.alertname ?? "Rule",
  labels: { severity: "warning", ...labels },
  annotations: {},
  state: "firing",
  value: 0.8,
  condition,
  window: WINDOW,
  startsAt: "2026-11-30T15:02:00.000Z",
  endsAt: null,
  changedAt: "2026-11-30T15:02:00.000Z",
  ...extra,
});

/** Path and parameters of a link, for comparisons that do not depend on parameter order. */
const parts = (href: string) => {
  const url = new URL(href, "http://dashboard");
  return { path: url.pathname, params: Object.fromEntries(url.searchParams) };
};

describe("alert links", () => {
  test("a drifted input leads to the drift page at that feature and window, in a range around it", () => {
    const links = alertLinks(
      alert({ alertname: "InputDrift", model: "flights", version: "1", feature: "hour" }, { metric: "drift.detected", op: ">=", threshold: 1 }),
    );
    assert.deepEqual(parts(links[0]!.href), {
      path: "/models/flights/drift",
      params: { version: "1", feature: "hour", window: WINDOW.end, from: "2026-11-30T13:00:00.000Z", to: "2026-11-30T16:00:00.000Z" },
    });
    assert.equal(links[0]!.kind, "drift");
  });

  test("a quality alert leads to the model at an absolute range around its window", () => {
    const [link, ...rest] = alertLinks(
      alert({ alertname: "AccuracyLow", model: "flights", version: "2" }, { metric: "quality.accuracy", op: "<", threshold: 0.9 }),
    );
    assert.deepEqual(parts(link!.href), {
      path: "/models/flights",
      params: { version: "2", from: "2026-11-30T13:00:00.000Z", to: "2026-11-30T16:00:00.000Z" },
    });
    assert.equal(rest.length, 0);
  });

  test("a short window still gets 15 minutes either side", () => {
    const [link] = alertLinks(
      alert(
        { alertname: "AccuracyLow", model: "m" },
        { metric: "quality.accuracy", op: "<", threshold: 0.9 },
        {
          window: { start: "2026-11-30T14:00:00.000Z", end: "2026-11-30T14:05:00.000Z" },
        },
      ),
    );
    assert.deepEqual(parts(link!.href).params, { from: "2026-11-30T13:45:00.000Z", to: "2026-11-30T14:20:00.000Z" });
  });

  test("a burn-rate alert leads to its SLO and to the slowest traces of its model in the window", () => {
    const links = alertLinks(
      alert({ alertname: "SLOBurnRate", model: "flights", slo: "flights-latency", long_window: "1h" }, { metric: "burn_rate", op: ">", threshold: 14.4 }),
    );
    assert.deepEqual(
      links.map((l) => [l.kind, parts(l.href)]),
      [
        ["slo", { path: "/slos", params: { slo: "flights-latency", from: "2026-11-30T13:00:00.000Z", to: "2026-11-30T16:00:00.000Z" } }],
        ["traces", { path: "/traces", params: { model: "flights", sort: "slowest", from: WINDOW.start, to: WINDOW.end } }],
      ],
    );
  });

  test("an error-rate alert leads to the failed traces in the window", () => {
    const [link] = alertLinks(alert({ alertname: "Errors", model: "flights" }, { metric: "error_rate", op: ">", threshold: 0.01 }));
    assert.deepEqual(parts(link!.href), { path: "/traces", params: { model: "flights", status: "error", sort: "newest", from: WINDOW.start, to: WINDOW.end } });
  });

  test("an alert recorded without a condition or window still leads to its model around its start", () => {
    const [link] = alertLinks(alert({ alertname: "Old", model: "flights" }, null, { window: null }));
    assert.deepEqual(parts(link!.href), { path: "/models/flights", params: { from: "2026-11-30T13:02:00.000Z", to: "2026-11-30T16:02:00.000Z" } });
  });

  test("names with characters that need escaping stay one parameter each", () => {
    const [link] = alertLinks(alert({ alertname: "D", model: "a b/c", feature: "x&y=z" }, { metric: "drift.score", op: "<", threshold: 0.05 }));
    const { path, params } = parts(link!.href);
    assert.equal(path, "/models/a%20b%2Fc/drift");
    assert.equal(params.feature, "x&y=z");
  });
});

describe("silence matchers, order and value", () => {
  test("a silence matches the alert's name and what it is about, not its severity or windows", () => {
    const a = alert({ alertname: "SLOBurnRate", model: "flights", slo: "lat", long_window: "1h", short_window: "5m", severity: "critical" }, null);
    assert.equal(silenceMatchers(a), 'alertname="SLOBurnRate"\nmodel="flights"\nslo="lat"');
    assert.equal(silenceMatchers(alert({ alertname: "Q", feature: 'say "hi"' }, null)), 'alertname="Q"\nfeature="say \\"hi\\""');
  });

  test("firing before pending, critical before warning before info", () => {
    const critical = alert({ alertname: "A", severity: "critical" }, null);
    const warning = alert({ alertname: "B", severity: "warning" }, null);
    const info = alert({ alertname: "C", severity: "info" }, null);
    const pendingCritical = alert({ alertname: "D", severity: "critical" }, null, { state: "pending" });
    assert.deepEqual(
      [info, pendingCritical, warning, critical].sort(attentionOrder).map((a) => a.labels.alertname),
      ["A", "B", "C", "D"],
    );
  });

  test("the value is shown against the threshold", () => {
    assert.equal(valueText(alert({}, { metric: "burn_rate", op: ">", threshold: 6 }, { value: 14.7612 })), "14.8 > 6");
    assert.equal(valueText(alert({}, null, { value: 0.5 })), "0.5");
  });
});

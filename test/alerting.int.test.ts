import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type Alert,
  AlertEvaluator,
  Alerting,
  WebhookSender,
  createSilence,
  expireSilence,
  listSilences,
  parseAlertingConfig,
  parseSlo,
  sloReport,
  sloReportCsv,
  sloReportMarkdown,
  sloRules,
} from "@vigil/monitor";
import { type Store, type StoreEngine, predictionRow } from "@vigil/store";
import { openTestStore } from "./support/recording.js";
import { predictionRecord, tempDir } from "./support/store.js";

const MINUTE = 60_000;
/** A whole minute safely in the past, so synthetic traffic sits in closed minutes and inside retention. */
const END = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;

/** Synthetic predictions: `perMinute` rows in each minute of [fromMs, toMs), the status and latency chosen per row. */
async function traffic(
  engine: StoreEngine,
  model: string,
  fromMs: number,
  toMs: number,
  perMinute: number,
  row: (minute: number, i: number) => { status?: string; latencyUs?: number },
) {
  const lines: string[] = [];
  for (let minute = fromMs; minute < toMs; minute += MINUTE) {
    for (let i = 0; i < perMinute; i++) {
      const { status = "OK", latencyUs = 2000 } = row(minute, i);
      lines.push(
        JSON.stringify(
          predictionRow(
            predictionRecord(i, {
              modelName: model,
              requestId: `${model}-${minute}-${i}`,
              timestampUs: (minute + Math.floor((i * MINUTE) / perMinute)) * 1000,
              status,
              latencyUs,
            }),
          ),
        ),
      );
    }
  }
  await engine.insertJsonLines("predictions", Buffer.from(`${lines.join("\n")}\n`));
}

interface Received {
  body: string;
  headers: IncomingMessage["headers"];
}

/** A webhook receiver on 127.0.0.1 that answers each request with the next status of `statuses` (then 200). */
async function receiver(statuses: number[] = []): Promise<{ url: string; received: Received[]; close: () => Promise<void>; server: Server }> {
  const received: Received[] = [];
  const queue = [...statuses];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ body: Buffer.concat(chunks).toString("utf8"), headers: req.headers });
      res.writeHead(queue.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, received, server, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Checks a Vigil signature the way a receiver would, with nothing from Vigil's code. */
function signatureValid(secret: string, header: string | string[] | undefined, body: string, nowS: number): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(header ?? ""));
  if (!match || Math.abs(nowS - Number(match[1])) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${match[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, "hex"));
}

describe("alerting on the store", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  let engine: StoreEngine;

  before(async () => {
    dirs = await tempDir("vigil-alerting-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    await store.ready();
    engine = store.engine;
  });
  after(async () => {
    await store.close();
    await dirs.remove();
  });

  test("inactive → pending → firing after `for` → resolved; every change in `alerts`; a restart keeps the state", async () => {
    // 10 minutes of traffic, 30% of it failing on the server's side (and 10% refused as invalid, which is the caller's fault).
    await traffic(engine, "rate-model", END - 10 * MINUTE, END, 50, (_, i) => ({
      status: i % 10 < 3 ? "UNAVAILABLE" : i % 10 === 3 ? "INVALID_ARGUMENT" : "OK",
    }));
    const config = parseAlertingConfig(
      {
        rules: [
          {
            name: "HighErrorRate",
            metric: "error_rate",
            scope: { model: "rate-model" },
            range: "5m",
            op: ">",
            threshold: 0.2,
            for: "2m",
            severity: "critical",
            annotations: { summary: "{{ $labels.model }} fails {{ $value }} of requests" },
          },
        ],
      },
      "test config",
      dirs.path,
    );
    const evaluator = new AlertEvaluator(engine, config.rules);
    assert.deepEqual(await evaluator.evaluate(END), [], "pending is not yet an alert");
    assert.deepEqual(
      evaluator.current().map((a) => a.state),
      ["pending"],
    );
    assert.deepEqual(await evaluator.evaluate(END + MINUTE), []);
    const firing = await evaluator.evaluate(END + 2 * MINUTE);
    assert.deepEqual(
      firing.map((a) => [a.state, a.labels.alertname, a.labels.model, a.labels.severity]),
      [["firing", "HighErrorRate", "rate-model", "critical"]],
    );
    assert.equal(firing[0]!.value, 0.3, "server-side failures only");
    assert.equal(firing[0]!.annotations.summary, "rate-model fails 0.3000 of requests");

    const restarted = new AlertEvaluator(engine, config.rules);
    assert.equal(await restarted.restore(), 1);
    const still = await restarted.evaluate(END + 3 * MINUTE);
    assert.deepEqual([still[0]!.state, still[0]!.startsAt], ["firing", END + 2 * MINUTE], "the restored alert keeps firing since the same time");
    const resolved = await restarted.evaluate(END + 20 * MINUTE);
    assert.deepEqual(
      resolved.map((a) => [a.state, a.endsAt]),
      [["resolved", END + 20 * MINUTE]],
    );
    const history = await engine.query<{ state: string }>("SELECT state FROM alerts WHERE rule = 'HighErrorRate' ORDER BY changed_at");
    assert.deepEqual(
      history.map((r) => r.state),
      ["pending", "firing", "resolved"],
    );
  });

  test("an anomaly rule flags a minute far from the last half hour (median/MAD) and leaves ordinary minutes alone", async () => {
    await traffic(engine, "anomaly-model", END - 40 * MINUTE, END, 20, (minute, i) => ({
      latencyUs: (minute === END - MINUTE ? 40_000 : 2000 + ((minute / MINUTE) % 7) * 150) + i * 10,
    }));
    const config = parseAlertingConfig(
      { rules: [{ name: "LatencyAnomaly", type: "anomaly", metric: "latency_p99_ms", scope: { model: "anomaly-model" }, baseline: "30m", min_points: 20 }] },
      "test config",
      dirs.path,
    );
    const evaluator = new AlertEvaluator(engine, config.rules);
    const fired = await evaluator.evaluate(END);
    assert.equal(fired.length, 1);
    assert.ok(fired[0]!.value > 3.5, `robust z ${fired[0]!.value}`);
    assert.deepEqual([fired[0]!.labels.alertname, fired[0]!.labels.model], ["LatencyAnomaly", "anomaly-model"]);
    assert.equal(fired[0]!.labels.minute, undefined, "the judged minute describes the alert but is not part of its identity");
    assert.ok(Number.isFinite(fired[0]!.value));
    assert.deepEqual(await new AlertEvaluator(engine, config.rules).evaluate(END - MINUTE), [], "the minute before was ordinary");
  });

  test("SLO burn-rate alerts fire and resolve on traffic with a known budget spend; the SLO report gives the known numbers", async () => {
    // Six hours at 100 requests a minute; in the last hour 20% fail: burn rate 20 over 1h and 5m, 10 over 2h, 3.33 over 6h, 1d and 3d.
    await traffic(engine, "slo-model", END - 360 * MINUTE, END, 100, (minute, i) => ({
      status: minute >= END - 60 * MINUTE && i % 5 === 0 ? "INTERNAL" : "OK",
      latencyUs: i % 50 === 0 ? 30_000 : 3000,
    }));
    const hook = await receiver();
    const outbox = join(dirs.path, "outbox-slo");
    const config = parseAlertingConfig(
      {
        slos: [
          { name: "slo-availability", model: "slo-model", indicator: "availability", objective: 0.99, window: "30d" },
          {
            apiVersion: "openslo/v1",
            kind: "SLO",
            metadata: { name: "slo-latency" },
            spec: {
              service: "slo-model",
              indicator: { spec: { thresholdMetric: { metricSource: { type: "Vigil", spec: { model: "slo-model", metric: "latency_ms" } } } } },
              timeWindow: [{ duration: "30d", isRolling: true }],
              budgetingMethod: "Occurrences",
              objectives: [{ op: "lte", value: 10, target: 0.95 }],
            },
          },
        ],
        receivers: [{ name: "ops", webhook: { url: hook.url, secret: "s3cret" } }],
        route: { receiver: "ops", group_by: ["slo", "severity"], group_wait: "0s" },
        outbox_dir: outbox,
      },
      "test config",
      dirs.path,
    );
    assert.deepEqual(
      sloRules(config.slos[0]!).map((r) => (r.type === "burn_rate" ? [r.labels.long_window, r.labels.short_window, r.alert.factor, r.alert.severity] : [])),
      [
        ["1h", "5m", 14.4, "critical"],
        ["6h", "30m", 6, "critical"],
        ["1d", "2h", 3, "warning"],
        ["3d", "6h", 1, "warning"],
      ],
    );
    const alerting = new Alerting(engine, config, { onError: (e) => assert.fail(e) });
    await alerting.sender!.open();
    const firing = await alerting.evaluateOnce(END);
    const summary = (alerts: Alert[]) =>
      alerts.map((a) => `${a.state} ${a.labels.slo} ${a.labels.severity} ${a.labels.long_window}/${a.labels.short_window}`).sort();
    assert.deepEqual(summary(firing), [
      "firing slo-availability critical 1h/5m",
      "firing slo-availability warning 1d/2h",
      "firing slo-availability warning 3d/6h",
    ]);
    assert.equal(Math.round(firing.find((a) => a.labels.long_window === "1h")!.value * 1e9) / 1e9, 20);

    assert.equal(await alerting.dispatch(END), 2, "one notification per (slo, severity) group");
    await alerting.sender!.attemptDue();
    assert.equal(hook.received.length, 2);
    for (const r of hook.received) assert.ok(signatureValid("s3cret", r.headers["x-vigil-signature"], r.body, Math.floor(Date.now() / 1000)), "signed");
    const page = hook.received
      .map(
        (r) =>
          JSON.parse(r.body) as {
            status: string;
            receiver: string;
            groupLabels: Record<string, string>;
            alerts: Array<{ labels: Record<string, string>; annotations: Record<string, string> }>;
          },
      )
      .find((p) => p.groupLabels.severity === "critical")!;
    assert.deepEqual([page.status, page.receiver, page.alerts.length, page.alerts[0]!.labels.alertname], ["firing", "ops", 1, "SLOBurnRate"]);
    assert.match(page.alerts[0]!.annotations.summary!, /slo-availability is burning its error budget 20(\.0+)?x the budget rate over 1h \(threshold 14\.4x\)/);

    const later = await alerting.evaluateOnce(END + 10 * MINUTE);
    assert.deepEqual(
      summary(later),
      ["firing slo-availability warning 1d/2h", "firing slo-availability warning 3d/6h", "resolved slo-availability critical 1h/5m"],
      "the 5-minute window is clean ten minutes on",
    );
    await alerting.dispatch(END + 10 * MINUTE);
    await alerting.sender!.attemptDue();
    const resolution = JSON.parse(hook.received[2]!.body) as { status: string; alerts: Array<{ status: string; endsAt: string }> };
    assert.deepEqual(
      [resolution.status, resolution.alerts[0]!.status, resolution.alerts[0]!.endsAt],
      ["resolved", "resolved", new Date(END + 10 * MINUTE).toISOString()],
    );
    await alerting.stop();
    await hook.close();

    // The period runs past the last traffic so that it takes in the alerts raised at its end.
    const availability = await sloReport(engine, config.slos[0]!, END - 360 * MINUTE, END + 15 * MINUTE, 3_600_000);
    assert.deepEqual([availability.total, availability.good, availability.bad], [36_000, 34_800, 1200]);
    assert.ok(Math.abs(availability.attainment! - 34_800 / 36_000) < 1e-15);
    assert.ok(Math.abs(availability.budget.allowedBad - 360) < 1e-9 && Math.abs(availability.budget.spent! - 1200 / 360) < 1e-12);
    assert.equal(availability.met, false);
    // Stretches are clock hours; the failing hour straddles one or two of them.
    const hourOf = (t: number) => Math.floor(t / 3_600_000) * 3_600_000;
    const expectedWorst = [...new Set([hourOf(END - 60 * MINUTE), hourOf(END - MINUTE)])]
      .map((hour) => {
        const minutes = Math.min(60, (END - Math.max(hour, END - 360 * MINUTE)) / MINUTE);
        const failing = (Math.min(hour + 60 * MINUTE, END) - Math.max(hour, END - 60 * MINUTE)) / MINUTE;
        return [new Date(hour).toISOString(), (minutes * 100 - failing * 20) / (minutes * 100)] as [string, number];
      })
      .sort((a, b) => a[1] - b[1]);
    assert.deepEqual(
      availability.worst.map((w) => [w.from, w.attainment]),
      expectedWorst,
    );
    assert.deepEqual(availability.incidents.map((i) => [i.severity, i.labels.long_window, i.endsAt]).sort(), [
      ["critical", "1h", new Date(END + 10 * MINUTE).toISOString()],
      ["warning", "1d", null],
      ["warning", "3d", null],
    ]);
    const latency = await sloReport(engine, config.slos[1]!, END - 360 * MINUTE, END + 15 * MINUTE);
    // 2 of every 100 requests take 30 ms; failed requests do not count for latency, and in the last hour the slow ones are among them.
    assert.deepEqual([latency.indicator, latency.thresholdMs, latency.total, latency.good], ["latency", 10, 36_000 - 1200, 36_000 - 1200 - 2 * 300]);
    assert.equal(latency.met, true);
    const csv = sloReportCsv([availability, latency]).split("\n");
    assert.equal(
      csv[0],
      "slo,model,indicator,threshold_ms,objective,window,from,to,good,total,bad,attainment,met,budget_allowed_bad,budget_spent,budget_remaining,incidents",
    );
    assert.match(csv[1]!, /^slo-availability,slo-model,availability,,0\.99,30d,.*,34800,36000,1200,0\.966666\d*,false,360\.0*\d*,3\.33333\d*,-2\.33333\d*,3$/);
    const markdown = sloReportMarkdown([availability]);
    assert.match(markdown, /\| 96\.667% \| no \| 34800 \| 36000 \| 1200 \| 360\.0 \| 333\.3% \| -233\.3% \|/);
    assert.match(markdown, /\| SLOBurnRate \| critical \| 1h\/5m \| .* \| .*Z \|/);
  });

  test("webhook delivery: signed, retried until a 2xx (500, 500, 200 gives one delivery, three attempts recorded)", async () => {
    const hook = await receiver([500, 500]);
    const sender = new WebhookSender({
      outboxDir: join(dirs.path, "outbox-retry"),
      receivers: [{ name: "flaky", url: hook.url, secret: "k", timeoutMs: 5000, giveUpAfterMs: 60_000 }],
      engine,
      retryInitialMs: 20,
      retryMaxMs: 40,
    });
    await sender.open();
    const notification = {
      receiver: "flaky",
      groupKey: "0:{}",
      payload: {
        version: "4" as const,
        groupKey: "0:{}",
        truncatedAlerts: 0,
        status: "firing" as const,
        receiver: "flaky",
        groupLabels: {},
        commonLabels: {},
        commonAnnotations: {},
        externalURL: "http://vigil",
        alerts: [],
      },
    };
    const id = await sender.enqueue(notification);
    for (let i = 0; i < 200 && sender.pendingCount() > 0; i++) {
      await sender.attemptDue();
      await new Promise((r) => setTimeout(r, 10));
    }
    await hook.close();
    assert.equal(hook.received.length, 3);
    assert.ok(
      hook.received.every(
        (r) => r.headers["x-vigil-delivery"] === id && signatureValid("k", r.headers["x-vigil-signature"], r.body, Math.floor(Date.now() / 1000)),
      ),
    );
    const attempts = await engine.query<{ attempt: number; status_code: number; outcome: string }>(
      "SELECT attempt, status_code, outcome FROM notifications WHERE delivery_id = {id:String} ORDER BY attempt",
      { id },
    );
    assert.deepEqual(
      attempts.map((a) => [Number(a.attempt), Number(a.status_code), a.outcome]),
      [
        [1, 500, "failed"],
        [2, 500, "failed"],
        [3, 200, "delivered"],
      ],
    );
  });

  test("a receiver down across a restart gets the notification afterwards, once", async () => {
    const hook = await receiver();
    const url = hook.url;
    await hook.close();
    const options = {
      outboxDir: join(dirs.path, "outbox-restart"),
      receivers: [{ name: "later", url, secret: "", timeoutMs: 2000, giveUpAfterMs: 3_600_000 }],
      engine,
      retryInitialMs: 10,
      retryMaxMs: 10,
    };
    const first = new WebhookSender(options);
    await first.open();
    const id = await first.enqueue({
      receiver: "later",
      groupKey: "g",
      payload: {
        version: "4",
        groupKey: "g",
        truncatedAlerts: 0,
        status: "firing",
        receiver: "later",
        groupLabels: {},
        commonLabels: {},
        commonAnnotations: {},
        externalURL: "",
        alerts: [],
      },
    });
    await first.attemptDue();
    await first.stop();
    const [failed] = await engine.query<{ outcome: string; error: string }>("SELECT outcome, error FROM notifications WHERE delivery_id = {id:String}", { id });
    assert.equal(failed!.outcome, "failed");
    assert.match(failed!.error, /fetch failed/);

    const port = Number(new URL(url).port);
    const back = await new Promise<{ received: string[]; server: Server }>((resolve) => {
      const received: string[] = [];
      const server = createServer((req, res) => {
        req
          .on("data", () => undefined)
          .on("end", () => {
            received.push(req.headers["x-vigil-delivery"] as string);
            res.writeHead(204).end();
          });
      }).listen(port, "127.0.0.1", () => resolve({ received, server }));
    });
    const second = new WebhookSender(options);
    assert.equal(await second.open(), 1, "the outbox held the delivery");
    await second.attemptDue();
    await second.attemptDue();
    await new Promise<void>((resolve) => back.server.close(() => resolve()));
    assert.deepEqual(back.received, [id]);
    assert.equal(second.pendingCount(), 0);
  });

  test("silences: create, list, expire", async () => {
    const created = await createSilence(engine, {
      matchers: ['alertname="InputDrift"', 'model=~"flights|other"'],
      endsAt: Date.now() + 3_600_000,
      createdBy: "ops",
      comment: "known seasonal shift",
    });
    const listed = (await listSilences(engine)).find((s) => s.id === created.id)!;
    assert.deepEqual([listed.matchers.length, listed.createdBy, listed.comment], [2, "ops", "known seasonal shift"]);
    const expired = await expireSilence(engine, created.id);
    assert.ok(expired.endsAt <= Date.now());
    assert.ok((await listSilences(engine)).find((s) => s.id === created.id)!.endsAt <= Date.now());
    await assert.rejects(createSilence(engine, { matchers: [], endsAt: Date.now() + 1000, createdBy: "", comment: "" }), /at least one matcher/);
    await assert.rejects(expireSilence(engine, "nope"), /no silence with id nope/);
  });

  test("config mistakes are named", () => {
    const bad = (raw: unknown) => {
      try {
        parseAlertingConfig(raw, "alerting config x.yaml", dirs.path);
        return "";
      } catch (error) {
        return (error as Error).message;
      }
    };
    assert.match(bad({ rules: [{ name: "X", metric: "accuracy", op: ">", threshold: 1 }] }), /rules\[0\]\.metric: unknown metric; one of error_rate/);
    assert.match(bad({ rules: [{ name: "X", metric: "error_rate", op: "~", threshold: 1 }] }), /rules\[0\]\.op/);
    assert.match(
      bad({ receivers: [{ name: "a", webhook: { url: "http://x" } }], route: { receiver: "b" } }),
      /route 0: receiver "b" is not among the receivers \(a\)/,
    );
    assert.match(bad({ slos: [{ name: "s", model: "m", indicator: "latency", threshold: "12.34ms", objective: 0.99 }] }), /not a bucket bound/);
    assert.match(bad({ slos: [{ name: "s", model: "m", indicator: "latency", objective: 0.99 }] }), /needs a threshold/);
    assert.match(
      bad({
        slos: [
          {
            apiVersion: "openslo/v1",
            kind: "SLO",
            metadata: { name: "s" },
            spec: { indicator: { spec: {} }, timeWindow: [{ duration: "28d", isRolling: true }], budgetingMethod: "Timeslices", objectives: [{ target: 0.9 }] },
          },
        ],
      }),
      /Occurrences/,
    );
    assert.equal(parseSlo({ name: "ok", model: "m", indicator: "availability", objective: 0.999 }).windowMs, 28 * 86_400_000, "28 days by default");
  });
});

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { type IncomingMessage, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Alerting, parseAlertingConfig } from "@vigil/monitor";
import { type Store, predictionRow } from "@vigil/store";
import { freePort } from "./support/ports.js";
import { openTestStore } from "./support/recording.js";
import { eventually, predictionRecord, tempDir } from "./support/store.js";
import { type StartedProcess, startProcess } from "./support/processes.js";

const ALERTMANAGER = "/usr/bin/prometheus-alertmanager";
const MINUTE = 60_000;

interface AlertmanagerWebhook {
  version: string;
  status: string;
  receiver: string;
  groupLabels: Record<string, string>;
  alerts: Array<{
    status: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
  }>;
}

/**
 * Debian's Alertmanager 0.25 as a real peer: Vigil pushes to its /api/v2/alerts as Prometheus
 * does, and Alertmanager routes what it gets to a webhook sink in this test.
 */
describe("pushing alerts to a real Alertmanager", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  let alertmanager: StartedProcess;
  let alertmanagerUrl: string;
  const arrived: AlertmanagerWebhook[] = [];
  const sink = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req
      .on("data", (c: Buffer) => chunks.push(c))
      .on("end", () => {
        arrived.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as AlertmanagerWebhook);
        res.writeHead(200).end();
      });
  });

  before(async () => {
    dirs = await tempDir("vigil-alertmanager-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    await store.ready();
    await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
    const sinkPort = (sink.address() as AddressInfo).port;
    const config = join(dirs.path, "alertmanager.yml");
    await writeFile(
      config,
      [
        "route:",
        "  receiver: sink",
        "  group_by: [alertname]",
        "  group_wait: 1s",
        "  group_interval: 1s",
        "  repeat_interval: 1h",
        "receivers:",
        "  - name: sink",
        "    webhook_configs:",
        `      - url: http://127.0.0.1:${sinkPort}/hook`,
        "        send_resolved: true",
        "",
      ].join("\n"),
    );
    const port = await freePort();
    alertmanagerUrl = `http://127.0.0.1:${port}`;
    alertmanager = startProcess(
      ALERTMANAGER,
      [
        `--config.file=${config}`,
        `--storage.path=${join(dirs.path, "am")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--cluster.listen-address=",
        "--log.level=warn",
      ],
      {
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    await eventually(
      async () =>
        fetch(`${alertmanagerUrl}/-/ready`).then(
          (r) => r.status,
          () => 0,
        ),
      (status) => status === 200,
      "Alertmanager to be ready",
    );
  });

  after(async () => {
    await alertmanager.stop();
    await new Promise((resolve) => sink.close(resolve));
    await store.close();
    await dirs.remove();
  });

  test("a firing Vigil alert reaches Alertmanager's receiver with its labels and annotations, and so does its resolution", { timeout: 60_000 }, async () => {
    // Alertmanager judges endsAt by its own clock, so evaluations use the real time: five closed minutes with 25% failing.
    const end = Math.floor(Date.now() / MINUTE) * MINUTE;
    const insert = async (count: number, prefix: string, status: (i: number) => string) => {
      const lines = Array.from({ length: count }, (_, i) =>
        JSON.stringify(
          predictionRow(
            predictionRecord(i, {
              modelName: "am-model",
              requestId: `${prefix}-${i}`,
              timestampUs: Math.floor((end - 5 * MINUTE + (i * 5 * MINUTE) / count) * 1000),
              status: status(i),
            }),
          ),
        ),
      );
      await store.engine.insertJsonLines("predictions", Buffer.from(`${lines.join("\n")}\n`));
    };
    await insert(600, "am", (i) => (i % 4 === 0 ? "UNAVAILABLE" : "OK"));
    const config = parseAlertingConfig(
      {
        external_url: "http://vigil.example:3000",
        rules: [
          {
            name: "HighErrorRate",
            metric: "error_rate",
            scope: { model: "am-model" },
            range: "5m",
            op: ">",
            threshold: 0.1,
            severity: "critical",
            labels: { team: "ml" },
            annotations: { summary: "{{ $labels.model }} fails {{ $value }} of requests", runbook_url: "http://runbooks/errors" },
          },
        ],
        alertmanager: { url: alertmanagerUrl },
      },
      "test config",
      dirs.path,
    );
    const alerting = new Alerting(store.engine, config, { onError: (e) => assert.fail(e) });
    const fired = await alerting.evaluateOnce(Date.now());
    assert.equal(fired.length, 1);

    const firing = await eventually(async () => arrived.find((w) => w.status === "firing"), Boolean, "Alertmanager's firing notification");
    assert.equal(firing!.receiver, "sink");
    assert.deepEqual(firing!.groupLabels, { alertname: "HighErrorRate" });
    const [received] = firing!.alerts;
    assert.deepEqual(received!.labels, { alertname: "HighErrorRate", severity: "critical", team: "ml", model: "am-model", version: "1" });
    assert.deepEqual(received!.annotations, { summary: "am-model fails 0.2500 of requests", runbook_url: "http://runbooks/errors" });
    assert.equal(Date.parse(received!.startsAt), fired[0]!.startsAt);
    assert.equal(received!.generatorURL, `http://vigil.example:3000/alerts?fingerprint=${fired[0]!.fingerprint}`);

    // Enough successful requests in the same minutes bring the error rate under 10%.
    await insert(3600, "am-ok", () => "OK");
    const resolved = await alerting.evaluateOnce(Date.now());
    assert.deepEqual(
      resolved.map((a) => a.state),
      ["resolved"],
    );
    const resolution = await eventually(async () => arrived.find((w) => w.status === "resolved"), Boolean, "Alertmanager's resolved notification");
    assert.deepEqual([resolution!.alerts[0]!.status, Date.parse(resolution!.alerts[0]!.endsAt)], ["resolved", resolved[0]!.endsAt]);
    await alerting.stop();
  });
});

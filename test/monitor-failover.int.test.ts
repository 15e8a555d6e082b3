import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import { MONITOR_LEASE, PREDICTIONS, type StoreEngine, migrate, openEngine, predictionRow } from "@vigil/store";
import { startClickHouseHttp } from "./support/clickhouse-http.js";
import type { ProcessOwner } from "./support/processes.js";
import { eventually, predictionRecord } from "./support/store.js";
import { type VigilProcess, demoWorkspace, spawnVigil } from "./support/vigil.js";

const MINUTE = 60_000;
const LEASE_TTL = "6s";
const TOKEN = "failover-test-token";

/** `perMinute` OK predictions of `model` in the last complete minute: enough for the throughput rule to fire at once. */
async function plantTraffic(engine: StoreEngine, model: string, perMinute = 30): Promise<void> {
  const minute = Math.floor(Date.now() / MINUTE) * MINUTE - MINUTE;
  const lines = Array.from({ length: perMinute }, (_, i) =>
    JSON.stringify(predictionRow(predictionRecord(i, { modelName: model, requestId: `${model}-${i}`, timestampUs: (minute + i * 1000) * 1000 }))),
  );
  await engine.insertJsonLines(PREDICTIONS, Buffer.from(`${lines.join("\n")}\n`));
}

interface Receiver {
  url: string;
  /** While true, every delivery is refused with 503. */
  down: boolean;
  /** Model label of each accepted (2xx) notification, in arrival order. */
  accepted: string[];
  /** Model label of each refused one. */
  refused: string[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const receiver: Omit<Receiver, "url" | "close"> = { down: false, accepted: [], refused: [] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req
      .on("data", (c: Buffer) => chunks.push(c))
      .on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { commonLabels: Record<string, string> };
        const model = body.commonLabels.model ?? "";
        (receiver.down ? receiver.refused : receiver.accepted).push(model);
        res.writeHead(receiver.down ? 503 : 200).end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

const count = (models: string[], model: string) => models.filter((m) => m === model).length;

/**
 * Two `vigil monitor` processes on one ClickHouse server for availability: one evaluates and
 * alerts while holding the lease, the other serves the API and stands by, takes over when the
 * first is SIGKILLed, and no notification is delivered twice or lost across the handovers.
 */
describe("two monitors, one lease", () => {
  const workspace = demoWorkspace("vigil-failover-");

  test("SIGKILL of the evaluating monitor: the standby takes over; each alert reaches the receiver exactly once", { timeout: 300_000 }, async (ctx) => {
    const clickhouse = await startClickHouseHttp(join(workspace.dir, "clickhouse"), { owner: ctx });
    const engine = openEngine({ clickhouseUrl: clickhouse.url, dataDir: "" });
    ctx.after(() => engine.close());
    await migrate(engine);
    const receiver = await startReceiver();
    ctx.after(() => receiver.close());

    /** Monitor `name` with its own outbox, as each pod has its own disk. */
    const monitor = async (name: string, owner: ProcessOwner): Promise<VigilProcess & { api: string }> => {
      const alertingFile = join(workspace.dir, `alerting-${name}.yaml`);
      await writeFile(
        alertingFile,
        [
          "evaluation_interval: 1s",
          `outbox_dir: ${join(workspace.dir, `outbox-${name}`)}`,
          "rules:",
          "  - name: TrafficSeen",
          "    metric: throughput_rps",
          '    op: ">"',
          "    threshold: 0",
          "    range: 10m",
          "    severity: info",
          "receivers:",
          "  - name: pager",
          "    webhook:",
          `      url: ${receiver.url}`,
          "      timeout: 2s",
          "      max_backoff: 1s",
          "      send_resolved: false",
          "route:",
          "  receiver: pager",
          "  group_by: [model]",
          "  group_wait: 0s",
          "  group_interval: 1s",
          "  repeat_interval: 1h",
          "",
        ].join("\n"),
      );
      const started = spawnVigil(
        ["monitor", "--models", workspace.repository, "--alerting-config", alertingFile, "--api-port", "0", "--lease-ttl", LEASE_TTL],
        {
          ...process.env,
          VIGIL_CLICKHOUSE_URL: clickhouse.url,
          VIGIL_API_TOKENS: TOKEN,
          VIGIL_LOG_LEVEL: "info",
        },
        { owner },
      );
      const listening = await eventually(async () => started.logs.find((l) => l.msg === "monitor API listening"), Boolean, `monitor ${name}'s API`, 60_000);
      return { ...started, api: listening!.url as string };
    };
    const acquired = (m: VigilProcess) => m.logs.some((l) => l.msg === "monitor lease acquired: this monitor evaluates");
    const firingOnApi = async (m: { api: string }) => {
      const response = await fetch(`${m.api}/api/v1/alerts`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return JSON.stringify(await response.json());
    };

    await plantTraffic(engine, "ha-a");
    const first = await monitor("one", ctx);
    await eventually(async () => acquired(first), Boolean, "the first monitor to take the lease", 60_000);
    const second = await monitor("two", ctx);
    await eventually(
      async () => count(receiver.accepted, "ha-a"),
      (n) => n === 1,
      "ha-a's notification",
      60_000,
    );
    assert.equal(acquired(second), false, "the second monitor stands by while the first renews");
    assert.equal((await fetch(`${second.api}/api/v1/health`)).status, 200, "the standby's API answers");
    assert.match(await firingOnApi(second), /ha-a/, "and reads the alerts the holder wrote");

    // A notification the first monitor queued but could not deliver, then the first monitor dies with it in its outbox.
    receiver.down = true;
    await plantTraffic(engine, "ha-b");
    await eventually(
      async () => count(receiver.refused, "ha-b"),
      (n) => n >= 1,
      "ha-b's first attempt",
      60_000,
    );
    await first.stop("SIGKILL");
    const killedAt = Date.now();
    receiver.down = false;
    await eventually(async () => acquired(second), Boolean, "the standby to take over", 60_000);
    ctx.diagnostic(`takeover ${Date.now() - killedAt} ms after the SIGKILL (lease ttl ${LEASE_TTL}; bound ttl + ttl/3 + 1 s settle)`);
    await eventually(
      async () => count(receiver.accepted, "ha-b"),
      (n) => n === 1,
      "ha-b's notification from the new holder",
      60_000,
    );

    // The first monitor comes back on its old outbox (ha-b still in it) and takes over when the second stops.
    const again = await monitor("one", ctx);
    assert.equal(await second.stop(), 0, "a graceful stop");
    await eventually(async () => acquired(again), Boolean, "the restarted monitor to take over after the release", 60_000);
    await plantTraffic(engine, "ha-c");
    await eventually(
      async () => count(receiver.accepted, "ha-c"),
      (n) => n === 1,
      "ha-c's notification",
      60_000,
    );
    // Two more evaluation and dispatch rounds after ha-c, where a repeat of ha-a or ha-b would have gone out.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await again.stop(), 0);

    ctx.diagnostic(`accepted ${JSON.stringify(receiver.accepted)}; refused ${JSON.stringify(receiver.refused)}`);
    assert.deepEqual(
      ["ha-a", "ha-b", "ha-c"].map((m) => count(receiver.accepted, m)),
      [1, 1, 1],
      "each alert delivered exactly once across two handovers",
    );
    assert.equal(receiver.accepted.length, 3, "and nothing else");

    // Safety in the lease log: every term's holder claimed after the previous holder's lease expired
    // (a release, holder "", is written by the holder itself after it stopped acting).
    const terms = await engine.query<{ term: string | number; holder: string; claimed: string | number; expires: string | number }>(
      `SELECT term, holder, claimed, expires FROM (
         SELECT term, holder, toUnixTimestamp64Milli(min(claimed_at)) AS claimed, toUnixTimestamp64Milli(max(expires_at)) AS expires
           FROM ${MONITOR_LEASE} WHERE name = 'monitor' GROUP BY term, holder)
       ORDER BY term, claimed, holder LIMIT 1 BY term`,
    );
    ctx.diagnostic(`lease terms: ${terms.map((t) => `${t.term}:${t.holder || "(released)"}`).join(" ")}`);
    assert.ok(terms.filter((t) => t.holder !== "").length >= 3, "three tenures at least");
    for (let i = 1; i < terms.length; i++) {
      if (terms[i]!.holder === "") continue;
      assert.ok(Number(terms[i]!.claimed) >= Number(terms[i - 1]!.expires), `term ${terms[i]!.term} was claimed after term ${terms[i - 1]!.term} expired`);
    }
  });
});

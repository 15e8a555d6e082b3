import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { type LoadgenSummary, parseShift, runLoadgen } from "@vigil/cli";
import type { MonitorResult } from "@vigil/monitor";
import { EmbeddedEngine } from "@vigil/store";
import { addDemoModel, tempRepository } from "./support/models.js";
import { eventually, tempDir } from "./support/store.js";
import { VIGIL_MAIN, type VigilProcess, spawnVigil, storeEnv } from "./support/vigil.js";

const root = join(import.meta.dirname, "..");
const execute = promisify(execFile);

interface Report {
  kind: string;
  model: string;
  version: string;
  windows: Array<{ window: { from: string; to: string }; results: MonitorResult[] }>;
}

/**
 * The monitor as a user drives it: `vigil serve` (monitor inside, embedded store) takes labelled
 * demo traffic, calm and then with planted drift; after it stops, `vigil report` and `vigil
 * profile` read the same data directory in their own processes.
 */
describe("vigil serve with the monitor, then vigil report and vigil profile", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let env: NodeJS.ProcessEnv;
  let monitorFile: string;
  let serve: VigilProcess;
  const times: { start: number; calmEnd: number; end: number } = { start: 0, calmEnd: 0, end: 0 };
  const summaries: LoadgenSummary[] = [];

  const vigil = (...args: string[]) => execute(process.execPath, ["--import", "tsx", VIGIL_MAIN, ...args], { cwd: root, env, encoding: "utf8" });
  const failure = (...args: string[]) =>
    vigil(...args).then(
      () => assert.fail(`expected vigil ${args.join(" ")} to fail`),
      (e: { code: number; stderr: string }) => e,
    );
  const report = async (...args: string[]) => JSON.parse((await vigil("report", ...args, "--model", "flights", "--json")).stdout) as Report;
  const iso = (ms: number) => new Date(ms).toISOString();

  before(async () => {
    dirs = await tempDir("vigil-monitor-cli-");
    repo = await tempRepository();
    await addDemoModel(repo.path);
    monitorFile = join(dirs.path, "monitor.json");
    await writeFile(monitorFile, JSON.stringify({ window: "3s", lag: "500ms" }));
    env = {
      ...process.env,
      ...storeEnv(dirs.path),
      VIGIL_MODEL_REPOSITORY: repo.path,
      VIGIL_GRPC_HOST: "127.0.0.1",
      VIGIL_GRPC_PORT: "0",
      VIGIL_METRICS_PORT: "0",
      VIGIL_LOG_LEVEL: "info",
      VIGIL_API_TOKENS: "cli-test-token",
    };
    serve = spawnVigil(["serve", "--monitor-config", monitorFile, "--api-port", "0"], env, { cwd: root });
  });

  after(async () => {
    await serve.stop("SIGKILL");
    await repo.remove();
    await dirs.remove();
  });

  test("serve answers labelled traffic and its monitor evaluates windows (its metrics say so)", { timeout: 90_000 }, async () => {
    const { logs } = serve;
    const listening = (await eventually(async () => logs.find((l) => l.msg === "gRPC server listening"), Boolean, "the server to listen"))!;
    const metricsUrl = logs.find((l) => l.msg === "Prometheus metrics endpoint listening")!.url as string;
    const apiUrl = (await eventually(async () => logs.find((l) => l.msg === "monitor API listening"), Boolean, "the monitor API"))!.url as string;
    assert.equal((await fetch(`${apiUrl}/api/v1/overview`)).status, 401, "the API in the serve process wants the token");
    assert.equal((await fetch(`${apiUrl}/api/v1/overview`, { headers: { authorization: "Bearer cli-test-token" } })).status, 200);
    const target = listening.address as string;
    const traffic = (drift: string[]) =>
      runLoadgen({
        target,
        model: "flights",
        rate: 0,
        concurrency: 8,
        requests: 400,
        durationMs: 0,
        batch: 1,
        shuffle: true,
        labelFraction: 1,
        labelDelayMs: 0,
        drift: drift.map(parseShift),
        driftAfter: 0,
      });
    times.start = Date.now();
    summaries.push(await traffic([]));
    times.calmEnd = Date.now();
    summaries.push(await traffic(["distance*1.5"]));
    times.end = Date.now() + 1;
    for (const s of summaries) assert.deepEqual([s.ok, s.failed, s.labelsSent, s.labelsFailed], [400, 0, 400, 0]);

    const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
    const text = await eventually(
      async () => (await fetch(metricsUrl)).text(),
      (t) => metric(t, "vigil_monitor_last_results") > 0 && metric(t, "vigil_monitor_last_success_timestamp_seconds") * 1000 > times.end,
      "a monitor run over the traffic",
    );
    assert.equal(metric(text, "vigil_monitor_failures_total"), 0);

    serve.child.kill("SIGTERM");
    const code = await serve.exited;
    assert.equal(code, 0, "graceful shutdown");
  });

  test("report quality: accuracy over the labelled rows equals what loadgen measured against the true outcomes", async () => {
    const quality = await report("quality", "--from", iso(times.start), "--to", iso(times.end));
    assert.equal(quality.windows.length, 1);
    const figure = (metric: string) => quality.windows[0]!.results.find((r) => r.metric === metric && r.feature === "");
    const correct = summaries.reduce((sum, s) => sum + Math.round(s.accuracy * s.ok), 0);
    assert.equal(figure("accuracy")!.details.rows, 800);
    assert.ok(Math.abs(figure("accuracy")!.value - correct / 800) <= 1e-12, `accuracy ${figure("accuracy")!.value} vs loadgen ${correct / 800}`);
    assert.equal(figure("label_coverage")!.value, 1);
    const text = (await vigil("report", "quality", "--model", "flights", "--from", iso(times.start), "--to", iso(times.end))).stdout;
    assert.match(text, /^quality of model flights \(all versions\)/);
    assert.match(text, /confusion matrix \(rows: label, columns: prediction\)/);
    for (const average of ["macro", "micro", "weighted"])
      assert.match(text, new RegExp(`^${average}\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+$`, "m"), `${average} precision, recall, F1`);
    assert.match(text, /roc_auc \(one vs rest\)/);
    assert.match(text, /calibration \(confidence of the predicted class, in tenths\)/);
    const sliced = await report("quality", "--from", iso(times.start), "--to", iso(times.end), "--segment", "distance=0..500");
    const slicedRows = Number(sliced.windows[0]!.results.find((r) => r.metric === "accuracy" && r.feature === "")!.details.rows);
    assert.ok(slicedRows > 0 && slicedRows < 800, `flights under 500 miles are a part of the 800 labelled (${slicedRows})`);
    const explained = (
      await vigil(
        "report",
        "explain",
        "--model",
        "flights",
        "--baseline-from",
        iso(times.start),
        "--baseline-to",
        iso(times.calmEnd),
        "--from",
        iso(times.calmEnd),
        "--to",
        iso(times.end),
      )
    ).stdout;
    assert.match(explained, /^accuracy [\d.]+% on 400 labelled rows, then [\d.]+% on 400/m);
    assert.match(explained, /^input\s+category\s+rows before/m);
    assert.match(text, new RegExp(`\\s800\\s+${(correct / 800).toPrecision(4)}\\s`));
  });

  test("report drift: the calm traffic is judged calm, the scaled distances drift (reference from the version's reference.jsonl)", async () => {
    const verdicts = async (from: number, to: number) => {
      const drift = await report("drift", "--from", iso(from), "--to", iso(to));
      assert.equal(drift.version, "1", "the newest version served");
      return Object.fromEntries(drift.windows[0]!.results.map((r) => [r.feature || r.metric, r]));
    };
    const calm = await verdicts(times.start, times.calmEnd);
    const shifted = await verdicts(times.calmEnd, times.end);
    assert.deepEqual([calm.distance!.metric, calm.distance!.breached], ["wasserstein", false], `calm distance ${calm.distance!.value}`);
    assert.deepEqual([shifted.distance!.metric, shifted.distance!.breached], ["wasserstein", true], `shifted distance ${shifted.distance!.value}`);
    assert.equal(shifted.distance!.details.current_rows, 400);
    assert.deepEqual([calm.hour!.breached, shifted.hour!.breached], [false, false], "hour was not shifted");
    assert.equal(Object.keys(calm).length, 9, "five features, the predicted class, the confidence, the dataset share and the reconstruction error");
    assert.equal(shifted.reconstruction_error!.details.rows, 400, "multivariate drift over the window's rows, fitted on reference.jsonl");
  });

  test("the monitor wrote its windows to monitor_results while serving", async () => {
    const engine = new EmbeddedEngine(env.VIGIL_DATA_DIR!);
    try {
      const rows = await engine.query<{ kind: string; n: string | number }>(
        "SELECT kind, count() AS n FROM monitor_results FINAL WHERE model_name = 'flights' GROUP BY kind ORDER BY kind",
      );
      assert.deepEqual(
        rows.map((r) => r.kind),
        ["data_quality", "drift", "quality"],
      );
      assert.ok(rows.every((r) => Number(r.n) > 0));
    } finally {
      await engine.close();
    }
  });

  test("profile from a window of traffic, then drift judged against it", async () => {
    const { stdout } = await vigil("profile", "--model", "flights", "--version", "1", "--from", iso(times.calmEnd), "--to", iso(times.end));
    assert.match(stdout, /stored reference profiles of 7 inputs for flights version 1: hour \(400 rows\)/);
    const drift = await report("drift", "--from", iso(times.calmEnd), "--to", iso(times.end));
    const distance = drift.windows[0]!.results.find((r) => r.feature === "distance")!;
    assert.deepEqual(
      [distance.metric, distance.value, distance.breached],
      ["ks", 1, false],
      "a window against itself: 400 reference rows take the KS test, p = 1",
    );
  });

  test("report slo: attainment and budget of an SLO over the served traffic, as CSV, JSON and Markdown", async () => {
    const file = join(dirs.path, "alerting.yaml");
    await writeFile(
      file,
      ["slos:", "  - name: flights-availability", "    model: flights", "    indicator: availability", "    objective: 0.999", "    window: 3d", ""].join("\n"),
    );
    const range = ["--from", iso(times.start - 60_000), "--to", iso(times.end + 60_000), "--alerting-config", file];
    const csv = (await vigil("report", "slo", ...range, "--format", "csv")).stdout.trim().split("\n");
    assert.equal(csv.length, 2);
    assert.match(csv[1]!, /^flights-availability,flights,availability,,0\.999,3d,[^,]+,[^,]+,800,800,0,1,true,0\.8\d*,0,1,0$/);
    const [json] = JSON.parse((await vigil("report", "slo", ...range, "--format", "json")).stdout) as Array<{
      total: number;
      attainment: number;
      budget: { spent: number };
    }>;
    assert.deepEqual([json!.total, json!.attainment, json!.budget.spent], [800, 1, 0]);
    assert.match((await vigil("report", "slo", ...range)).stdout, /^## SLO flights-availability/m);
    assert.match((await failure("report", "slo", ...range, "--slo", "nope")).stderr, /no SLO named "nope" \(SLOs: flights-availability\)/);
  });

  test("silence add, list and expire", async () => {
    const id = (
      await vigil("silence", "add", "-m", 'alertname="InputDrift"', "-m", 'model="flights"', "-d", "2h", "--comment", "known shift", "--author", "ops")
    ).stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    const listed = JSON.parse((await vigil("silence", "list", "--json")).stdout) as Array<{
      id: string;
      comment: string;
      matchers: Array<{ name: string; op: string; value: string }>;
    }>;
    assert.deepEqual(
      listed.map((s) => [s.id, s.comment, s.matchers.map((m) => `${m.name}${m.op}${m.value}`)]),
      [[id, "known shift", ["alertname=InputDrift", "model=flights"]]],
    );
    assert.match((await vigil("silence", "list")).stdout, new RegExp(`${id}\\s+active\\s+alertname="InputDrift" model="flights"`));
    assert.match((await vigil("silence", "expire", id)).stdout, new RegExp(`silence ${id} ended at`));
    assert.match((await vigil("silence", "list")).stdout, new RegExp(`${id}\\s+expired`));
    assert.match((await failure("silence", "add", "-m", "model=flights")).stderr, /matcher "model=flights" is not name="value"/);
  });

  test("mistakes get a message that says what to do", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["report", "quality", "--model", "nope"], /model "nope" is not in the repository .* \(models: flights\)/],
      [["report", "quality", "--model", "flights", "--from", "-1h", "--to", "-2h"], /the report's end .* must come after its start/],
      [["report", "quality", "--model", "flights", "--window", "soon"], /"soon" is not a duration/],
      [["report", "latency", "--model", "flights"], /report kind must be one of quality, drift, data_quality, explain, slo, got "latency"/],
      [
        ["report", "drift", "--model", "flights", "--from", "2020-01-01T00:00:00Z", "--to", "2020-01-02T00:00:00Z"],
        /served no OK predictions between 2020-01-01/,
      ],
      [["profile", "--model", "flights", "--version", "1"], /give either --file or --from/],
    ];
    for (const [args, message] of cases) {
      const error = await failure(...args);
      assert.equal(error.code, 1, args.join(" "));
      assert.match(error.stderr, message);
    }
  });
});

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";
import { CLASS_LABELS, buildFlightMlpVersion, buildVocabulary, createFlightEncoder, isDelayed, loadFlights, splitByMonth } from "@vigil/demo-model";
import { judgeRollout, readCatalog, rolloutStatus } from "@vigil/monitor";
import { pairedAccuracy } from "@vigil/onnx";
import type { Store } from "@vigil/store";
import { flightsTraffic } from "./support/demo-traffic.js";
import { addDemoModel, tempRepository } from "./support/models.js";
import { openTestStore } from "./support/recording.js";
import { setRollout } from "./support/rollout.js";
import { eventually, tempDir } from "./support/store.js";
import { contentsRequest, rawFloat32 } from "./support/requests.js";
import { unary } from "./support/grpc.js";
import { type TestServer, startTestServer } from "./support/server.js";

const run = promisify(execFile);
const vigil = join(import.meta.dirname, "..", "packages", "cli", "bin", "vigil.js");

/** `vigil quantize ...`: its output, or its exit code and error output when it fails. */
async function quantize(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [vigil, "quantize", ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

/** A repository with the demo model (version 1, logistic: nothing to quantize) and the flights MLP as version 2. */
function mlpRepository() {
  let repo: Awaited<ReturnType<typeof tempRepository>> | undefined;
  before(async () => {
    repo = await tempRepository();
    await addDemoModel(repo.path);
    await buildFlightMlpVersion(repo.path, 2);
  });
  after(async () => {
    await repo?.remove();
  });
  return {
    get path() {
      if (!repo) throw new Error("the repository is made in a before hook");
      return repo.path;
    },
  };
}

const { train, heldOut } = splitByMonth(loadFlights());
const encode = createFlightEncoder(buildVocabulary(train));

/** Each row run alone through a model file: the int8 result of a row depends on its batch, and a lone request is a batch of one. */
async function scoresOf(modelPath: string, rows: number[][]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(await readFile(modelPath));
  try {
    const out: Float32Array[] = [];
    for (const row of rows) {
      const result = await session.run({ features: new ort.Tensor("float32", Float32Array.from(row), [1, 5]) });
      out.push(Float32Array.from(result.probabilities!.data as Float32Array));
    }
    return out;
  } finally {
    await session.release();
  }
}

const predicted = (scores: Float32Array) => (scores[1]! > scores[0]! ? 1 : 0);

describe("vigil quantize", () => {
  const repository = mlpRepository();

  test("writes an int8 version with its own checksum and rescored reference; a server loads it and answers over gRPC", async () => {
    const { stdout } = await run(process.execPath, [vigil, "quantize", "--model", "flights", "--version", "2", "--models", repository.path]);
    assert.match(stdout, /^wrote flights version 3: int8 variant of version 2$/m);
    assert.match(stdout, /^ {2}weights {3}2 quantized per output channel: w0 \d+x32, w1 32x2$/m);
    assert.match(stdout, /^ {2}size {6}\d+ -> \d+ bytes \([\d.]+% of float\)$/m);
    assert.match(stdout, /^note: version_policy \{"latest":1\} now loads version 3 in place of version 2/m);

    const dir = join(repository.path, "flights", "3");
    const bytes = await readFile(join(dir, "model.onnx"));
    const float = await readFile(join(repository.path, "flights", "2", "model.onnx"));
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    assert.equal(await readFile(join(dir, "model.onnx.sha256"), "utf8"), `${sha256}  model.onnx\n`);
    assert.match(stdout, new RegExp(`checksum {2}sha256 ${sha256}`));
    assert.ok(bytes.byteLength < float.byteLength, `int8 ${bytes.byteLength} bytes, float ${float.byteLength}`);
    const graph = onnxProto.onnx.ModelProto.decode(bytes).graph!;
    assert.equal(graph.node!.filter((n) => n.opType === "MatMulInteger").length, 2);
    assert.ok(graph.initializer!.some((t) => t.dataType === onnxProto.onnx.TensorProto.DataType.INT8));

    // The reference keeps version 2's rows and features; prediction and confidence are the int8 model's own.
    const parse = (text: string) =>
      text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { features: number[]; prediction: string; confidence: number });
    const floatReference = parse(await readFile(join(repository.path, "flights", "2", "reference.jsonl"), "utf8"));
    const int8Reference = parse(await readFile(join(dir, "reference.jsonl"), "utf8"));
    assert.equal(int8Reference.length, floatReference.length);
    assert.deepEqual(
      int8Reference.map((r) => r.features),
      floatReference.map((r) => r.features),
    );
    const sample = int8Reference.slice(0, 200);
    const sampleScores = await scoresOf(
      join(dir, "model.onnx"),
      sample.map((r) => r.features),
    );
    sample.forEach((row, i) => {
      const best = predicted(sampleScores[i]!);
      assert.equal(row.prediction, CLASS_LABELS[best]);
      assert.equal(row.confidence, sampleScores[i]![best]);
    });
    assert.ok(
      int8Reference.some((r, i) => r.confidence !== floatReference[i]!.confidence),
      "the scores are recomputed, not copied",
    );

    // The version policy (latest 1) serves version 3; the checksum file is there, so it loads verified.
    const served = await startTestServer({ model_repository: repository.path, log_level: "info" });
    try {
      assert.equal((await unary(served.client.modelReady, served.client, { name: "flights", version: "3" })).ready, true);
      assert.ok(!served.logs.some((l) => String(l.msg).includes("unverified")), "no version loaded without its checksum");
      const rows = heldOut.slice(0, 150).map(encode);
      const expected = await scoresOf(join(dir, "model.onnx"), rows);
      const floatScores = await scoresOf(join(repository.path, "flights", "2", "model.onnx"), rows);
      let agree = 0;
      for (const [i, row] of rows.entries()) {
        const response = await unary(
          served.client.modelInfer,
          served.client,
          contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: row } }]),
        );
        assert.equal(response.modelVersion, "3");
        const answer = rawFloat32(response);
        for (let k = 0; k < 2; k++) assert.ok(Math.abs(answer[k]! - expected[i]![k]!) < 1e-5, `row ${i}: served ${answer[k]}, onnxruntime ${expected[i]![k]}`);
        if (predicted(answer) === predicted(floatScores[i]!)) agree++;
      }
      // The int8 model answers close to the float one: on 7,099 held-out rows the two disagree on under 1% (docs/benchmarks.md).
      assert.ok(agree / rows.length >= 0.95, `int8 agrees with float on ${agree} of ${rows.length} rows`);
    } finally {
      await served.stop();
    }
  });

  test("refuses an unknown model or version, a version with nothing to quantize or a wrong checksum, and a target that exists, writing nothing", async () => {
    // Version 4: version 2's model under a checksum line that names other bytes.
    const tampered = join(repository.path, "flights", "4");
    await cp(join(repository.path, "flights", "2"), tampered, { recursive: true });
    await writeFile(join(tampered, "model.onnx.sha256"), `${"0".repeat(64)}  model.onnx\n`);
    const before = await readdir(join(repository.path, "flights"));
    const cases: Array<[string[], RegExp]> = [
      [["--model", "nope", "--version", "2"], /model "nope" is not in the repository .* \(models: flights\)/],
      [["--model", "flights", "--version", "9"], /model "flights" has no version "9" \(versions: 1, 2/],
      [["--model", "flights", "--version", "1"], /version 1 has no MatMul or Gemm with a float weight matrix in the file: nothing to quantize/],
      [["--model", "flights", "--version", "2", "--to", "1"], /version 1 of model "flights" already exists; choose a free version with --to/],
      [
        ["--model", "flights", "--version", "4"],
        /checksum mismatch for model "flights" version 4 model.onnx: file has sha256 [0-9a-f]{64}, model.onnx.sha256 says 0{64}; refusing to quantize it/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await quantize([...args, "--models", repository.path]);
      assert.equal(result.code, 1, `${args.join(" ")} exits 1`);
      assert.match(result.stderr, message);
    }
    assert.deepEqual(await readdir(join(repository.path, "flights")), before);
  });

  test("--compare reports agreement and the accuracy difference on labelled rows; a policy that would not load the version is explained, not edited", async () => {
    const configPath = join(repository.path, "flights", "config.json");
    const config = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
    await writeFile(configPath, JSON.stringify({ ...config, version_policy: { specific: [2] } }));
    const configBefore = await readFile(configPath, "utf8");
    const labelled = join(repository.path, "march.jsonl");
    const march = heldOut.slice(0, 400);
    await writeFile(labelled, march.map((f) => JSON.stringify({ features: encode(f), label: CLASS_LABELS[isDelayed(f) ? 1 : 0] })).join("\n"));
    const { stdout } = await run(process.execPath, [
      vigil,
      "quantize",
      "--model",
      "flights",
      "--version",
      "2",
      "--to",
      "7",
      "--models",
      repository.path,
      "--compare",
      labelled,
    ]);
    assert.match(stdout, /^note: version_policy \{"specific":\[2\]\} does not load version 7: set "version_policy": \{"specific": \[2, 7\]\} in config.json/m);
    assert.equal(await readFile(configPath, "utf8"), configBefore);
    const agreement = /agreement ([\d.]+)% of 400 rows predict the same class/.exec(stdout);
    assert.ok(agreement, stdout);
    const accuracy = /accuracy {2}float ([\d.]+)%, int8 ([\d.]+)%: difference ([-+][\d.]+) points, 95% CI \[([-+][\d.]+), ([-+][\d.]+)\]/.exec(stdout);
    assert.ok(accuracy, stdout);
    const [floatAccuracy, int8Accuracy, difference, lower, upper] = accuracy.slice(1).map(Number) as [number, number, number, number, number];
    assert.ok(Math.abs(int8Accuracy - floatAccuracy - difference) < 0.011, "the difference is the two accuracies' difference");
    assert.ok(lower <= difference && difference <= upper);
    // Check the reported float accuracy against onnxruntime on the same rows.
    const floatScores = await scoresOf(join(repository.path, "flights", "2", "model.onnx"), march.map(encode));
    const right = march.filter((f, i) => predicted(floatScores[i]!) === (isDelayed(f) ? 1 : 0)).length;
    assert.equal(floatAccuracy.toFixed(2), ((100 * right) / march.length).toFixed(2));
    assert.match(stdout, /^ {2}batch 1 {3}float [\d.]+ ms, int8 [\d.]+ ms/m);
    assert.match(stdout, /^ {2}batch 64 {2}float [\d.]+ ms, int8 [\d.]+ ms/m);
  });
});

/**
 * The int8 variant judged as a rollout would judge it: shadowed live beside its float version
 * on held-out flights, one request at a time (a lone request is a batch of one, as the offline
 * comparison scores each row), with every label sent back.
 */
describe("an int8 version shadowed beside its float version", () => {
  const repository = mlpRepository();
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  let server: TestServer;

  before(async () => {
    await run(process.execPath, [vigil, "quantize", "--model", "flights", "--version", "2", "--models", repository.path]);
    await setRollout(repository.path, { mode: "shadow", primary: 2, candidate: 3 });
    dirs = await tempDir("vigil-int8-shadow-");
    store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    await store.ready();
    server = await startTestServer({ model_repository: repository.path, log_level: "info" }, store);
  });
  after(async () => {
    await server?.stop();
    await store?.close();
    await dirs?.remove();
  });

  test("the shadow rows answer as int8 does offline, and the judge's agreement and accuracy difference are the offline comparison's on the same rows", async () => {
    const requests = 600;
    const summary = await flightsTraffic(server.address, requests, { concurrency: 1 });
    assert.equal(summary.failed, 0);
    const logged = await eventually(
      async () => {
        await Promise.all([store.predictions.flush(), store.labels.flush()]);
        return store.engine.query<{ request_id: string; features: number[]; float: string; int8: string; label: string }>(
          `SELECT p.request_id AS request_id, p.features AS features, p.prediction AS float, s.prediction AS int8, l.label AS label
           FROM predictions AS p
           INNER JOIN predictions AS s ON s.request_id = p.request_id AND s.row_index = p.row_index AND s.role = 'shadow' AND s.model_version = '3'
           INNER JOIN labels AS l ON l.request_id = p.request_id AND l.row_index = p.row_index
           WHERE p.model_name = 'flights' AND p.role = 'primary' AND p.model_version = '2'
           ORDER BY p.request_id`,
        );
      },
      (rows) => rows.length === requests,
      "every request's primary row, shadow row and label",
    );

    // Row by row, each version answered as its file does offline; a row whose two scores are
    // within 1e-4 of each other may fall either way (served scores match offline within 1e-5).
    const rows = logged.map((r) => r.features.map(Number));
    const [floatScores, int8Scores] = await Promise.all([
      scoresOf(join(repository.path, "flights", "2", "model.onnx"), rows),
      scoresOf(join(repository.path, "flights", "3", "model.onnx"), rows),
    ]);
    const close = (s: Float32Array) => Math.abs(s[1]! - s[0]!) < 1e-4;
    const mismatched = logged.filter(
      (r, i) =>
        (r.float !== CLASS_LABELS[predicted(floatScores[i]!)] && !close(floatScores[i]!)) ||
        (r.int8 !== CLASS_LABELS[predicted(int8Scores[i]!)] && !close(int8Scores[i]!)),
    );
    assert.deepEqual(mismatched, []);
    const ambiguous = logged.filter((_, i) => close(floatScores[i]!) || close(int8Scores[i]!)).length;

    const labels = logged.map((r) => CLASS_LABELS.indexOf(r.label as (typeof CLASS_LABELS)[number]));
    const offline = pairedAccuracy(floatScores.map(predicted), int8Scores.map(predicted), labels);
    const status = await rolloutStatus(store.engine, "flights", (await readCatalog(repository.path, assert.fail))[0]!.config.rollout);
    assert.ok(status?.startedMs !== undefined, "the server started the rollout");
    const judged = await judgeRollout(store.engine, { ...status, startedMs: status.startedMs }, { stepMs: 3_600_000, asOfMs: Date.now(), classifier: true });
    assert.equal(judged.agreement?.pairs, requests);
    assert.ok(
      Math.abs(judged.agreement!.rate! - offline.agreement) <= ambiguous / requests,
      `agreement ${judged.agreement!.rate} live, ${offline.agreement} offline`,
    );
    const accuracyTest = judged.tests.find((t) => t.name === "accuracy")!;
    assert.ok(
      Math.abs(accuracyTest.difference! - offline.difference) <= ambiguous / requests,
      `difference ${accuracyTest.difference} live, ${offline.difference} offline`,
    );
    assert.ok(Math.abs(judged.primary.accuracy! - offline.accuracyBaseline) <= ambiguous / requests);
    assert.ok(Math.abs(judged.candidate.accuracy! - offline.accuracyCandidate) <= ambiguous / requests);
  });
});

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { before, describe, test } from "node:test";
import * as ort from "onnxruntime-node";
import { runLoadgen } from "@vigil/cli";
import { buildVocabulary, createFlightEncoder, isDelayed, loadFlights, splitByMonth } from "@vigil/demo-model";
import { addDemoModel, tempRepository } from "./support/models.js";
import { referenceRun } from "./support/requests.js";
import { freePort } from "./support/ports.js";
import { type TestServer, serveRepository, startTestServer } from "./support/server.js";

const run = promisify(execFile);
const vigil = join(import.meta.dirname, "..", "packages", "cli", "bin", "vigil.js");

describe("vigil loadgen", () => {
  const served = serveRepository(addDemoModel, { log_level: "warn" });
  let t: TestServer;
  before(() => {
    t = served.server;
  });

  test("replays held-out flights; its accuracy equals onnxruntime's on the same flights", async () => {
    const requests = 300;
    const summary = await runLoadgen({ target: t.address, model: "flights", rate: 0, concurrency: 8, requests, durationMs: 0, batch: 2 });
    assert.equal(summary.sent, requests);
    assert.equal(summary.ok, requests);
    assert.equal(summary.failed, 0);
    assert.equal(summary.latency.count, requests);
    assert.ok(summary.latency.p50Ms <= summary.latency.p99Ms && summary.latency.p99Ms <= summary.latency.maxMs);

    const { train, heldOut } = splitByMonth(loadFlights());
    const flights = heldOut.slice(0, requests * 2);
    const encode = createFlightEncoder(buildVocabulary(train));
    const out = await referenceRun(join(served.repository, "flights", "1", "model.onnx"), {
      features: new ort.Tensor("float32", Float32Array.from(flights.flatMap(encode)), [flights.length, 5]),
    });
    const p = out.probabilities!.data as Float32Array;
    const correct = flights.filter((f, i) => p[2 * i + 1]! >= p[2 * i]! === isDelayed(f)).length;
    assert.equal(summary.accuracy, correct / flights.length);
  });

  test("started before its server, it waits for the model and then sends everything", async () => {
    const port = await freePort();
    const load = runLoadgen({ target: `127.0.0.1:${port}`, model: "flights", rate: 0, concurrency: 2, requests: 20, durationMs: 0, batch: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const late = await startTestServer({ model_repository: served.repository, log_level: "warn", port });
    try {
      const summary = await load;
      assert.deepEqual([summary.sent, summary.ok, summary.failed], [20, 20, 0]);
    } finally {
      await late.stop();
    }
  });

  test("the vigil command prints the summary and exits 0", async () => {
    const { stdout } = await run(process.execPath, [vigil, "loadgen", "--target", t.address, "-n", "40", "--rate", "0", "--concurrency", "4"]);
    assert.match(stdout, /^requests {2}40 \(40 ok, 0 failed: none\)/m);
    assert.match(stdout, /^latency {3}p50 [\d.]+ ms {2}p90 [\d.]+ ms {2}p99 [\d.]+ ms/m);
  });

  test("bad flags are refused with the reason", async () => {
    const err = await run(process.execPath, [vigil, "loadgen", "--concurrency", "zero"]).then(
      () => assert.fail("expected a non-zero exit"),
      (e: { code: number; stderr: string }) => e,
    );
    assert.notEqual(err.code, 0);
    assert.match(err.stderr, /concurrency must be an integer >= 1, got "zero"/);
  });
});

describe("vigil serve", () => {
  test("an invalid config file stops startup with every wrong field named", async () => {
    const repo = await tempRepository();
    const file = join(repo.path, "server.json");
    await writeFile(file, JSON.stringify({ port: 99999, auth_tokens: "abc", log_level: "loud", colour: "blue" }));
    const err = await run(process.execPath, [vigil, "serve", "--config", file], { env: { ...process.env, VIGIL_GRPC_PORT: "" } }).then(
      () => assert.fail("expected a non-zero exit"),
      (e: { code: number; stderr: string }) => e,
    );
    await repo.remove();
    assert.equal(err.code, 1);
    for (const field of ["port", "auth_tokens", "log_level", "(root)"]) assert.ok(err.stderr.includes(`- ${field}:`), `names ${field}: ${err.stderr}`);
    assert.match(err.stderr, /server config \(file .*server.json \+ flags\) is invalid/);
  });
});

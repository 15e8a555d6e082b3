import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import * as ort from "onnxruntime-node";
import {
  DEFAULT_MODEL_REPOSITORY,
  DEMO_MODEL_NAME,
  type DemoModelReport,
  buildVocabulary,
  createFlightEncoder,
  evaluateBinary,
  isDelayed,
  loadFlights,
  splitByMonth,
} from "@vigil/demo-model";
import { MODEL_CONFIG_FILE, readModelConfig } from "@vigil/model-repository";
import { referenceRun } from "./support/requests.js";

const modelDir = join(DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME);

test("the demo model's config is valid for the inference server and describes its features", async () => {
  const warnings: string[] = [];
  const config = readModelConfig(join(modelDir, MODEL_CONFIG_FILE), (w) => warnings.push(w));
  assert.deepEqual(warnings, [], "the generated config uses no deprecated field");
  assert.deepEqual(
    config.monitored_features.map((f) => f.name),
    ["hour", "weekday", "distance", "origin", "destination"],
  );
  assert.deepEqual(config.classes, ["on_time", "delayed"]);
  const { train } = splitByMonth(loadFlights());
  assert.deepEqual(config.monitored_features.find((f) => f.name === "origin")!.categories, buildVocabulary(train).origin);
});

test("the split is by time: training flights all precede held-out ones", () => {
  const { train, heldOut } = splitByMonth(loadFlights());
  assert.equal(train.length + heldOut.length, 20_000);
  const lastTrain = train
    .map((f) => f.date)
    .sort()
    .at(-1)!;
  const firstHeldOut = heldOut.map((f) => f.date).sort()[0]!;
  assert.ok(lastTrain < firstHeldOut, `${lastTrain} < ${firstHeldOut}`);
});

test("held-out metrics in the training report match scikit-learn on the served model's scores", async () => {
  const report = JSON.parse(await readFile(join(modelDir, "training-report.json"), "utf8")) as DemoModelReport;
  const { train, heldOut } = splitByMonth(loadFlights());
  const encode = createFlightEncoder(buildVocabulary(train));
  const out = await referenceRun(join(modelDir, "1", "model.onnx"), {
    features: new ort.Tensor("float32", Float32Array.from(heldOut.flatMap(encode)), [heldOut.length, 5]),
  });
  const probabilities = out.probabilities!.data as Float32Array;
  const scores = Array.from({ length: heldOut.length }, (_, i) => probabilities[2 * i + 1]!);
  const labels = heldOut.map(isDelayed);
  assert.deepEqual(evaluateBinary(scores, labels), report.heldOut);

  const python = `
import json, sys
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score
d = json.load(sys.stdin)
y, s = d["labels"], d["scores"]
p = [1 if v >= 0.5 else 0 for v in s]
print(json.dumps({"accuracy": accuracy_score(y, p), "precision": precision_score(y, p), "recall": recall_score(y, p),
  "f1": f1_score(y, p), "rocAuc": roc_auc_score(y, s), "logLoss": log_loss(y, s)}))`;
  const sklearn = JSON.parse(
    execFileSync("/usr/bin/python3", ["-c", python], { input: JSON.stringify({ labels: labels.map(Number), scores }), encoding: "utf8" }),
  ) as Record<"accuracy" | "precision" | "recall" | "f1" | "rocAuc" | "logLoss", number>;
  for (const key of ["accuracy", "precision", "recall", "f1", "rocAuc", "logLoss"] as const) {
    assert.ok(Math.abs(report.heldOut[key] - sklearn[key]) < 1e-9, `${key}: vigil ${report.heldOut[key]} vs sklearn ${sklearn[key]}`);
  }
  // A model that learned something: better ranking than chance on months it never saw.
  assert.ok(report.heldOut.rocAuc > 0.55, `held-out ROC AUC ${report.heldOut.rocAuc}`);
});

test("ROC AUC handles ties and degenerate labels like scikit-learn", () => {
  const python = `
import json
from sklearn.metrics import roc_auc_score
print(json.dumps(roc_auc_score([0, 1, 1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1, 0.5, 0.9])))`;
  const expected = JSON.parse(execFileSync("/usr/bin/python3", ["-c", python], { encoding: "utf8" })) as number;
  const actual = evaluateBinary([0.5, 0.5, 0.9, 0.1, 0.5, 0.9], [false, true, true, false, true, false]).rocAuc;
  assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} vs ${expected}`);
  assert.ok(Number.isNaN(evaluateBinary([0.2, 0.7], [true, true]).rocAuc), "undefined with one class present");
});

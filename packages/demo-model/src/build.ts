import { writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { MODEL_CONFIG_FILE, writeModelVersion } from "@vigil/model-repository";
import * as ort from "onnxruntime-node";
import { DEMO_MODEL_NAME, demoModelConfig } from "./demo-config.js";
import { CLASS_LABELS, buildVocabulary, createFlightEncoder, isDelayed, loadFlights, splitByMonth } from "./flights.js";
import { type BinaryEvaluation, evaluateBinary } from "./metrics.js";
import { buildFlightDelayMlpOnnx, trainFlightDelayMlp } from "./mlp.js";
import { FLIGHTS_INPUT, FLIGHTS_OUTPUT, buildFlightDelayOnnx } from "./model.js";
import { trainFlightDelayModel } from "./train.js";

export interface DemoModelReport {
  trainRows: number;
  heldOutRows: number;
  vocabulary: { origin: number; destination: number };
  train: BinaryEvaluation;
  heldOut: BinaryEvaluation;
  sha256: string;
  bytes: number;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const DEFAULT_MODEL_REPOSITORY = join(repoRoot, ".vigil", "models");

/** Scores rows through the exported ONNX file, so the report describes the artefact that is served: [P(on time), P(delayed)] per row. */
async function scoreWithOnnx(model: Uint8Array, rows: number[][]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model);
  try {
    const data = Float32Array.from(rows.flat());
    const out = await session.run({ [FLIGHTS_INPUT]: new ort.Tensor("float32", data, [rows.length, rows[0]!.length]) });
    return out[FLIGHTS_OUTPUT]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

const delayedShare = (probabilities: Float32Array) => Float32Array.from({ length: probabilities.length / 2 }, (_, i) => probabilities[2 * i + 1]!);

/**
 * The monitor's reference sample: each training row's features with the class the server would
 * predict (the highest score, the first on a tie) and its confidence, so prediction and
 * confidence drift are judged against what the model answered on its training months.
 */
function referenceLines(rows: number[][], probabilities: Float32Array): string {
  return rows
    .map((features, i) => {
      const scores = [probabilities[2 * i]!, probabilities[2 * i + 1]!];
      const best = scores[1]! > scores[0]! ? 1 : 0;
      return JSON.stringify({ features, prediction: CLASS_LABELS[best], confidence: scores[best] });
    })
    .join("\n");
}

/** Trains the flight-delay classifier and writes it as version 1 of the "flights" model in a repository. */
export async function buildDemoModel(repository = DEFAULT_MODEL_REPOSITORY): Promise<DemoModelReport> {
  const { train, heldOut } = splitByMonth(loadFlights());
  const vocabulary = buildVocabulary(train);
  const weights = trainFlightDelayModel(train, vocabulary);
  const onnx = buildFlightDelayOnnx(weights);
  const encode = createFlightEncoder(vocabulary);

  const modelDir = join(repository, DEMO_MODEL_NAME);
  const trainRows = train.map(encode);
  const trainScores = await scoreWithOnnx(onnx, trainRows);
  const { sha256 } = await writeModelVersion(modelDir, 1, { model: onnx, reference: `${referenceLines(trainRows, trainScores)}\n` }, { replace: true });
  await writeFile(join(modelDir, MODEL_CONFIG_FILE), `${JSON.stringify(demoModelConfig(vocabulary), null, 2)}\n`);
  const report: DemoModelReport = {
    trainRows: train.length,
    heldOutRows: heldOut.length,
    vocabulary: { origin: vocabulary.origin.length, destination: vocabulary.destination.length },
    train: evaluateBinary(delayedShare(trainScores), train.map(isDelayed)),
    heldOut: evaluateBinary(delayedShare(await scoreWithOnnx(onnx, heldOut.map(encode))), heldOut.map(isDelayed)),
    sha256,
    bytes: onnx.byteLength,
  };
  await writeFile(join(modelDir, "training-report.json"), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/**
 * Trains the MLP variant of the flight-delay classifier (same inputs, same months) and writes it
 * as `version` of the "flights" model in a repository that already holds the demo model's
 * config. A model with MatMul weights, for int8 quantization to work on.
 */
export async function buildFlightMlpVersion(repository: string, version: number): Promise<void> {
  const { train } = splitByMonth(loadFlights());
  const vocabulary = buildVocabulary(train);
  const onnx = buildFlightDelayMlpOnnx(trainFlightDelayMlp(train, vocabulary));
  const encode = createFlightEncoder(vocabulary);
  const trainRows = train.map(encode);
  const reference = `${referenceLines(trainRows, await scoreWithOnnx(onnx, trainRows))}\n`;
  await writeModelVersion(join(repository, DEMO_MODEL_NAME), version, { model: onnx, reference });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // build.ts [repository] [--mlp VERSION]: the demo model, and with --mlp its MLP variant as that version too.
  const { values, positionals } = parseArgs({ options: { mlp: { type: "string" } }, allowPositionals: true });
  const mlpVersion = values.mlp === undefined ? undefined : Number(values.mlp);
  if (mlpVersion !== undefined && !(Number.isInteger(mlpVersion) && mlpVersion >= 2)) {
    throw new Error(`--mlp takes the version to write the MLP as, an integer of at least 2 (version 1 is the logistic model); got "${values.mlp}"`);
  }
  const target = positionals[0] ? resolve(positionals[0]) : DEFAULT_MODEL_REPOSITORY;
  const report = await buildDemoModel(target);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const h = report.heldOut;
  console.log(
    `demo model "${DEMO_MODEL_NAME}" written to ${target} (${report.bytes} bytes, trained on ${report.trainRows} Jan-Feb flights)\n` +
      `  held-out March (${h.rows} flights, ${pct(h.positiveShare)} delayed): accuracy ${pct(h.accuracy)} ` +
      `(majority class ${pct(h.majorityAccuracy)}), precision ${h.precision.toFixed(3)}, recall ${h.recall.toFixed(3)}, ` +
      `F1 ${h.f1.toFixed(3)}, ROC AUC ${h.rocAuc.toFixed(3)}, log loss ${h.logLoss.toFixed(3)}`,
  );
  if (mlpVersion !== undefined) {
    await buildFlightMlpVersion(target, mlpVersion);
    console.log(`MLP variant of "${DEMO_MODEL_NAME}" written as version ${mlpVersion} (MatMul weights, for vigil quantize)`);
  }
}

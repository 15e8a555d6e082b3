/**
 * int8 variants against their float models, in one process on this host: the serving benchmark's
 * MLP (bench/mlp.ts) for size and raw onnxruntime latency at batch 1 and 64, and the flights MLP
 * (a classifier trained on January-February, judged on held-out March) for agreement and the
 * accuracy difference with its 95% interval. Both int8 models come from the quantizer behind
 * `vigil quantize`. Writes the "int8 variants" section of docs/benchmarks.md.
 *
 *   node --import tsx bench/quantize.ts [--rounds 5] [--runs 200]
 */
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { buildFlightDelayMlpOnnx, buildVocabulary, createFlightEncoder, isDelayed, loadFlights, splitByMonth, trainFlightDelayMlp } from "@vigil/demo-model";
import { type Int8Comparison, argmaxRows, compareInt8, openScoringSession, quantizeDynamicInt8, scoreRows } from "@vigil/onnx";
import { flag } from "./args.js";
import { machineLine } from "./machine.js";
import { MLP_LAYERS, mlpOnnx, mlpRows } from "./mlp.js";
import { writeBenchmarkSection } from "./report.js";
import { type Spread, spread } from "./spread.js";

/** Timed comparisons of the benchmark MLP; each reports a median over `runs` calls, and the table the spread of those medians. */
const rounds = Number(flag("rounds") ?? 5);
const runs = Number(flag("runs") ?? 200);
if (!(rounds >= 2)) throw new Error("--rounds must be 2 or more");
if (!(runs >= 10)) throw new Error("--runs must be 10 or more");
const root = join(import.meta.dirname, "..");
const BATCHES = [1, 64];

const fmt = (x: number, digits = 3) => x.toFixed(digits);
const cell = (s: Spread, digits = 3) => `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
const percent = (x: number) => `${(100 * x).toFixed(2)}%`;
const points = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)}`;

/** Share of rows where the two models' highest output is the same one, each row run alone. */
async function outputAgreement(float: Uint8Array, int8: Uint8Array, rows: Float32Array[], width: number): Promise<number> {
  const tops: number[][] = [];
  for (const model of [float, int8]) {
    const scoring = await openScoringSession(model, width);
    try {
      const { scores, classes } = await scoreRows(scoring, rows);
      tops.push(argmaxRows(scores, classes));
    } finally {
      await scoring.session.release();
    }
  }
  return tops[0]!.filter((top, i) => top === tops[1]![i]).length / rows.length;
}

async function main(): Promise<void> {
  const started = Date.now();
  const width = MLP_LAYERS[0];
  const float = mlpOnnx();
  const quantized = quantizeDynamicInt8(float);
  const rows = mlpRows(256);
  const timed: Int8Comparison[] = [];
  for (let round = 0; round < rounds; round++) {
    timed.push(await compareInt8({ float, int8: quantized.model, width, latencyRows: rows, batchSizes: BATCHES, runs }));
    console.log(
      `round ${round + 1}/${rounds}: ${timed
        .at(-1)!
        .latency.map((l) => `batch ${l.batch} float ${fmt(l.floatMs)} ms int8 ${fmt(l.int8Ms)} ms`)
        .join(", ")}`,
    );
  }
  const mlpAgreement = await outputAgreement(float, quantized.model, mlpRows(1000), width);

  const { train, heldOut } = splitByMonth(loadFlights());
  const vocabulary = buildVocabulary(train);
  const flightsFloat = buildFlightDelayMlpOnnx(trainFlightDelayMlp(train, vocabulary));
  const flightsInt8 = quantizeDynamicInt8(flightsFloat);
  const encode = createFlightEncoder(vocabulary);
  const flights = await compareInt8({
    float: flightsFloat,
    int8: flightsInt8.model,
    width: 5,
    labelled: { rows: heldOut.map(encode), labels: heldOut.map((f) => (isDelayed(f) ? 1 : 0)) },
    latencyRows: heldOut.slice(0, 256).map(encode),
    batchSizes: BATCHES,
    runs,
  });
  const q = flights.quality!;

  const latencyRows = BATCHES.map((batch) => {
    const pick = (key: "floatMs" | "int8Ms") => spread(timed.map((t) => t.latency.find((l) => l.batch === batch)![key]));
    const ratio = spread(timed.map((t) => t.latency.find((l) => l.batch === batch)!).map((l) => l.int8Ms / l.floatMs));
    return `| ${batch} | ${cell(pick("floatMs"))} | ${cell(pick("int8Ms"))} | ${cell(ratio, 2)} |`;
  });
  const body = [
    `Command: \`node --import tsx bench/quantize.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}\` (a few seconds; part of \`npm run bench\`).`,
    "",
    `${machineLine()}, onnxruntime-node ${ort.env.versions.common}, ${new Date().toISOString().slice(0, 10)}, ${((Date.now() - started) / 1000).toFixed(0)} s in all.`,
    "",
    "Dynamic int8 quantization as `vigil quantize` writes it: MatMul weights int8 per output channel, activations quantized at run time (DynamicQuantizeLinear, one scale per batch), MatMulInteger. Latency is raw onnxruntime (`session.run` in this process, 1 intra-op thread, graph optimization `all`), the float and int8 sessions timed one after the other in each round; a cell is the median over rounds of each round's median of " +
      `${runs} calls, with the min–max over ${rounds} rounds.`,
    "",
    `### Serving benchmark MLP (${MLP_LAYERS.join("-")})`,
    "",
    `Size: float ${quantized.bytesBefore} bytes, int8 ${quantized.bytesAfter} bytes (${percent(quantized.bytesAfter / quantized.bytesBefore)}). ` +
      `${quantized.weights.length} weight matrices quantized. Its weights are seeded, not trained, and it has no labels: the two agree on the highest of the 16 outputs for ${percent(mlpAgreement)} of 1,000 seeded rows (each run alone).`,
    "",
    "| batch | float (ms) | int8 (ms) | int8 / float |",
    "|---:|---:|---:|---:|",
    ...latencyRows,
    "",
    "### Flights MLP on held-out March (labelled)",
    "",
    `The flights classifier with one hidden layer of 32 ReLU units (\`trainFlightDelayMlp\`), trained in JS on January–February, scored on the ${q.rows} March flights, each row run alone. ` +
      `Size: float ${flights.bytes.float} bytes, int8 ${flights.bytes.int8} bytes (most of the file is the one-hot lookup tables, which stay float).`,
    "",
    "| figure | value |",
    "|---|---:|",
    `| agreement (same predicted class) | ${percent(q.agreement)} |`,
    `| accuracy, float | ${percent(q.accuracyBaseline)} |`,
    `| accuracy, int8 | ${percent(q.accuracyCandidate)} |`,
    `| difference (int8 − float), points | ${points(q.difference)} |`,
    `| 95% interval (Bonett–Price, paired) | [${points(q.interval[0])}, ${points(q.interval[1])}] |`,
    `| rows right only in float / only in int8 | ${q.baselineOnly} / ${q.candidateOnly} |`,
    ...flights.latency.map((l) => `| batch ${l.batch} latency float / int8 (ms, one round) | ${fmt(l.floatMs)} / ${fmt(l.int8Ms)} |`),
    "",
  ].join("\n");
  await writeBenchmarkSection(join(root, "docs", "benchmarks.md"), "int8 variants", body);
  console.log(body);
}

await main();

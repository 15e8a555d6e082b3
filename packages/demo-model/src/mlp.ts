import { type OnnxInitializer, type OnnxNode, OnnxType, buildOnnxModel, seededRandom } from "@vigil/onnx";
import { type AirportVocabulary, FEATURE_NAMES, type FlightRecord, createFlightEncoder, isDelayed, shuffled } from "./flights.js";
import { type DistanceScaling, FLIGHTS_INPUT, FLIGHTS_OUTPUT, distanceFeatures, lookup, scalar } from "./model.js";
import { distanceScaling } from "./train.js";

/**
 * A one-hidden-layer ReLU network over the same five inputs as the logistic demo model: one-hot
 * hour, weekday, origin and destination plus standardised distance and log-distance feed
 * `hidden` units, then two softmax scores. Weights are row-major [inputs, outputs], the layout
 * MatMul reads.
 */
export interface FlightMlpWeights extends DistanceScaling {
  categories: { hour: number; weekday: number; origin: number; destination: number };
  hidden: number;
  w0: Float32Array;
  b0: Float32Array;
  w1: Float32Array;
  b1: Float32Array;
}

/** The one training set-up the demo uses: the hidden width, the Adam schedule, and the seed of the initialisation and row order. */
const TRAINING = { hidden: 32, epochs: 12, batchSize: 128, learningRate: 0.005, seed: 7 } as const;

const CLASSES = 2;

/** Where each block of the one-hot input starts; the two distance columns come last. */
function inputLayout(categories: FlightMlpWeights["categories"]) {
  const weekday = categories.hour;
  const origin = weekday + categories.weekday;
  const destination = origin + categories.origin;
  const distance = destination + categories.destination;
  return { hour: 0, weekday, origin, destination, distance, width: distance + 2 };
}

/**
 * Mini-batch Adam on the class-balanced log loss (as the logistic model, so both answer "delayed"
 * for a fair share of flights), from a seeded He initialisation over a seeded row order: every
 * build gives the same network. Each row has six non-zero inputs, which the training loop
 * exploits; the ONNX graph multiplies the full one-hot vector.
 */
export function trainFlightDelayMlp(records: FlightRecord[], vocabulary: AirportVocabulary): FlightMlpWeights {
  const encode = createFlightEncoder(vocabulary);
  const categories = { hour: 24, weekday: 7, origin: vocabulary.origin.length, destination: vocabulary.destination.length };
  const layout = inputLayout(categories);
  const rows = records.map(encode);
  const labels = records.map((r): number => (isDelayed(r) ? 1 : 0));
  const scaling = distanceScaling(rows.map((r) => Math.max(0, r[2]!)));
  const active = rows.map((r) => [layout.hour + r[0]!, layout.weekday + r[1]!, layout.origin + r[3]!, layout.destination + r[4]!]);
  const dense = rows.map((r) => {
    const d = Math.max(0, r[2]!);
    return [(d - scaling.distanceMean) / scaling.distanceStd, (Math.log1p(d) - scaling.logDistanceMean) / scaling.logDistanceStd];
  });
  const positives = labels.reduce((a, y) => a + y, 0);
  const classWeight = [rows.length / (2 * (rows.length - positives)), rows.length / (2 * positives)];

  const H = TRAINING.hidden;
  const random = seededRandom(TRAINING.seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  // Parameters in one vector so one Adam loop updates them all: [w0 (width x H), b0 (H), w1 (H x 2), b1 (2)].
  const offsets = { b0: layout.width * H, w1: layout.width * H + H, b1: layout.width * H + H + H * CLASSES };
  const size = offsets.b1 + CLASSES;
  const theta = new Float64Array(size);
  // He initialisation for the wide sparse input: the variance of a hidden unit's input is set by the six active inputs, not the width.
  for (let i = 0; i < offsets.b0; i++) theta[i] = gaussian() * Math.sqrt(2 / 6);
  for (let i = offsets.w1; i < offsets.b1; i++) theta[i] = gaussian() * Math.sqrt(2 / H);
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  const grad = new Float64Array(size);
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  const pre = new Float64Array(H);
  const hiddenOut = new Float64Array(H);
  const dHidden = new Float64Array(H);
  let step = 0;

  for (let epoch = 0; epoch < TRAINING.epochs; epoch++) {
    const order = shuffled(
      rows.map((_, i) => i),
      TRAINING.seed + epoch,
    );
    for (let start = 0; start < order.length; start += TRAINING.batchSize) {
      const batch = order.slice(start, start + TRAINING.batchSize);
      const batchWeight = batch.reduce((a, i) => a + classWeight[labels[i]!]!, 0);
      grad.fill(0);
      for (const i of batch) {
        const [zd, zl] = dense[i]!;
        for (let j = 0; j < H; j++) {
          let s = theta[offsets.b0 + j]!;
          for (const k of active[i]!) s += theta[k * H + j]!;
          s += zd! * theta[layout.distance * H + j]! + zl! * theta[(layout.distance + 1) * H + j]!;
          pre[j] = s;
          hiddenOut[j] = Math.max(s, 0);
        }
        const logits = [theta[offsets.b1]!, theta[offsets.b1 + 1]!];
        for (let j = 0; j < H; j++) for (let c = 0; c < CLASSES; c++) logits[c]! += hiddenOut[j]! * theta[offsets.w1 + j * CLASSES + c]!;
        const top = Math.max(logits[0]!, logits[1]!);
        const e = logits.map((l) => Math.exp(l - top));
        const total = e[0]! + e[1]!;
        const weight = classWeight[labels[i]!]! / batchWeight;
        const dLogits = e.map((x, c) => weight * (x / total - (c === labels[i] ? 1 : 0)));
        for (let c = 0; c < CLASSES; c++) grad[offsets.b1 + c]! += dLogits[c]!;
        for (let j = 0; j < H; j++) {
          let d = 0;
          for (let c = 0; c < CLASSES; c++) {
            grad[offsets.w1 + j * CLASSES + c]! += hiddenOut[j]! * dLogits[c]!;
            d += theta[offsets.w1 + j * CLASSES + c]! * dLogits[c]!;
          }
          dHidden[j] = pre[j]! > 0 ? d : 0;
        }
        for (let j = 0; j < H; j++) {
          const d = dHidden[j]!;
          if (d === 0) continue;
          grad[offsets.b0 + j]! += d;
          for (const k of active[i]!) grad[k * H + j]! += d;
          grad[layout.distance * H + j]! += d * zd!;
          grad[(layout.distance + 1) * H + j]! += d * zl!;
        }
      }
      step++;
      for (let p = 0; p < size; p++) {
        const g = grad[p]!;
        m[p] = beta1 * m[p]! + (1 - beta1) * g;
        v[p] = beta2 * v[p]! + (1 - beta2) * g * g;
        theta[p]! -= (TRAINING.learningRate * (m[p]! / (1 - beta1 ** step))) / (Math.sqrt(v[p]! / (1 - beta2 ** step)) + eps);
      }
    }
  }
  return {
    ...scaling,
    categories,
    hidden: H,
    w0: Float32Array.from(theta.subarray(0, offsets.b0)),
    b0: Float32Array.from(theta.subarray(offsets.b0, offsets.w1)),
    w1: Float32Array.from(theta.subarray(offsets.w1, offsets.b1)),
    b1: Float32Array.from(theta.subarray(offsets.b1)),
  };
}

const identity = (name: string, size: number): OnnxInitializer => ({
  name,
  type: OnnxType.FLOAT,
  dims: [size, size],
  values: Float32Array.from({ length: size * size }, (_, i) => (i % (size + 1) === 0 ? 1 : 0)),
});

/**
 * The MLP as an ONNX graph with the logistic demo model's signature (features [batch, 5] ->
 * probabilities [batch, 2]), so it can stand in as another version of the "flights" model.
 * One-hot columns are rows of identity tables looked up with the demo model's safe indexing
 * (unknown codes fall to the "other" row); the two products are MatMul nodes, which is what
 * int8 quantization rewrites.
 */
export function buildFlightDelayMlpOnnx(w: FlightMlpWeights): Uint8Array {
  const layout = inputLayout(w.categories);
  const [hour, weekday, , origin, destination] = FEATURE_NAMES;
  const oneHot = (
    [
      [hour, w.categories.hour],
      [weekday, w.categories.weekday],
      [origin, w.categories.origin],
      [destination, w.categories.destination],
    ] as const
  ).map(([column, size]) => ({ column, size, ...lookup(column, `${column}_identity`, size) }));
  const distance = distanceFeatures(w);
  const nodes: OnnxNode[] = [
    { op: "Split", inputs: [FLIGHTS_INPUT, "split_sizes"], outputs: [...FEATURE_NAMES], attributes: { axis: 1 } },
    ...oneHot.flatMap((o) => o.nodes),
    // A lookup row comes out [batch, 1, size]; flattened it is [batch, size].
    ...oneHot.map((o): OnnxNode => ({ op: "Flatten", inputs: [o.output], outputs: [`${o.column}_one_hot`], attributes: { axis: 1 } })),
    ...distance.nodes,
    { op: "Concat", inputs: [...oneHot.map((o) => `${o.column}_one_hot`), "distance_z", "log_distance_z"], outputs: ["mlp_input"], attributes: { axis: 1 } },
    { op: "MatMul", inputs: ["mlp_input", "w0"], outputs: ["hidden_product"] },
    { op: "Add", inputs: ["hidden_product", "b0"], outputs: ["hidden_pre"] },
    { op: "Relu", inputs: ["hidden_pre"], outputs: ["hidden"] },
    { op: "MatMul", inputs: ["hidden", "w1"], outputs: ["logit_product"] },
    { op: "Add", inputs: ["logit_product", "b1"], outputs: ["logits"] },
    { op: "Softmax", inputs: ["logits"], outputs: [FLIGHTS_OUTPUT], attributes: { axis: 1 } },
  ];
  return buildOnnxModel({
    name: "flight_delay_mlp",
    docString: `Vigil demo: probability that a US flight arrives more than 15 minutes late (MLP, ${w.hidden} hidden units).`,
    inputs: [{ name: FLIGHTS_INPUT, type: OnnxType.FLOAT, dims: [-1, FEATURE_NAMES.length] }],
    outputs: [{ name: FLIGHTS_OUTPUT, type: OnnxType.FLOAT, dims: [-1, CLASSES] }],
    nodes,
    initializers: [
      { name: "split_sizes", type: OnnxType.INT64, dims: [FEATURE_NAMES.length], values: FEATURE_NAMES.map(() => 1) },
      scalar("zero", 0),
      scalar("one", 1),
      ...oneHot.flatMap((o) => [identity(`${o.column}_identity`, o.size), ...o.initializers]),
      ...distance.initializers,
      { name: "w0", type: OnnxType.FLOAT, dims: [layout.width, w.hidden], values: w.w0 },
      { name: "b0", type: OnnxType.FLOAT, dims: [w.hidden], values: w.b0 },
      { name: "w1", type: OnnxType.FLOAT, dims: [w.hidden, CLASSES], values: w.w1 },
      { name: "b1", type: OnnxType.FLOAT, dims: [CLASSES], values: w.b1 },
    ],
  });
}

import type { DistanceScaling } from "./model.js";
import { type AirportVocabulary, type FlightRecord, createFlightEncoder, isDelayed } from "./flights.js";

/**
 * Logistic regression over one-hot hour, weekday, origin and destination plus standardised
 * distance and log-distance. One-hot weights are stored as lookup tables, which is how the
 * ONNX graph applies them (Gather), so training and serving share one parameterisation.
 */
export interface FlightDelayWeights extends DistanceScaling {
  bias: number;
  hour: number[];
  weekday: number[];
  origin: number[];
  destination: number[];
  distance: number;
  logDistance: number;
}

export interface TrainingOptions {
  iterations: number;
  learningRate: number;
  l2: number;
}

export const DEFAULT_TRAINING: TrainingOptions = { iterations: 400, learningRate: 0.05, l2: 1e-3 };

function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance) || 1 };
}

/** Mean and spread of the clamped distances and their logarithms, the standardisation both models apply. */
export function distanceScaling(distances: number[]): DistanceScaling {
  const dist = meanStd(distances);
  const logDist = meanStd(distances.map(Math.log1p));
  return { distanceMean: dist.mean, distanceStd: dist.std, logDistanceMean: logDist.mean, logDistanceStd: logDist.std };
}

/**
 * Full-batch Adam on the class-balanced log loss. Balancing makes the 0.5 threshold
 * separate the classes instead of always answering "on time" (about 78% of flights).
 * Deterministic: no random initialisation or sampling, so every build yields the same model.
 */
export function trainFlightDelayModel(records: FlightRecord[], vocabulary: AirportVocabulary, options: TrainingOptions = DEFAULT_TRAINING): FlightDelayWeights {
  const encode = createFlightEncoder(vocabulary);
  const rows = records.map(encode);
  const labels = records.map(isDelayed);
  const n = rows.length;
  const positives = labels.filter(Boolean).length;
  const classWeight = [n / (2 * (n - positives)), n / (2 * positives)];

  const distances = rows.map((r) => Math.max(0, r[2]!));
  const scaling = distanceScaling(distances);
  const zDistance = distances.map((d) => (d - scaling.distanceMean) / scaling.distanceStd);
  const zLogDistance = distances.map((d) => (Math.log1p(d) - scaling.logDistanceMean) / scaling.logDistanceStd);

  // Parameter vector layout: [bias, distance, logDistance, hour x24, weekday x7, origin xK, destination xK].
  const offsets = { hour: 3, weekday: 27, origin: 34, destination: 34 + vocabulary.origin.length };
  const size = offsets.destination + vocabulary.destination.length;
  const theta = new Float64Array(size);
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  const grad = new Float64Array(size);
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  const totalWeight = labels.reduce((a, y) => a + classWeight[y ? 1 : 0]!, 0);

  for (let step = 1; step <= options.iterations; step++) {
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      const active = [offsets.hour + r[0]!, offsets.weekday + r[1]!, offsets.origin + r[3]!, offsets.destination + r[4]!];
      let logit = theta[0]! + theta[1]! * zDistance[i]! + theta[2]! * zLogDistance[i]!;
      for (const j of active) logit += theta[j]!;
      const p = 1 / (1 + Math.exp(-logit));
      const g = (classWeight[labels[i] ? 1 : 0]! * (p - (labels[i] ? 1 : 0))) / totalWeight;
      grad[0]! += g;
      grad[1]! += g * zDistance[i]!;
      grad[2]! += g * zLogDistance[i]!;
      for (const j of active) grad[j]! += g;
    }
    for (let j = 0; j < size; j++) {
      const gj = grad[j]! + (j === 0 ? 0 : options.l2 * theta[j]!);
      m[j] = beta1 * m[j]! + (1 - beta1) * gj;
      v[j] = beta2 * v[j]! + (1 - beta2) * gj * gj;
      const mHat = m[j]! / (1 - beta1 ** step);
      const vHat = v[j]! / (1 - beta2 ** step);
      theta[j]! -= (options.learningRate * mHat) / (Math.sqrt(vHat) + eps);
    }
  }

  const slice = (from: number, length: number) => Array.from(theta.subarray(from, from + length));
  return {
    bias: theta[0]!,
    distance: theta[1]!,
    logDistance: theta[2]!,
    hour: slice(offsets.hour, 24),
    weekday: slice(offsets.weekday, 7),
    origin: slice(offsets.origin, vocabulary.origin.length),
    destination: slice(offsets.destination, vocabulary.destination.length),
    ...scaling,
  };
}

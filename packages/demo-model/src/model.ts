import { type OnnxInitializer, type OnnxNode, OnnxType, buildOnnxModel } from "@vigil/onnx";
import { FEATURE_NAMES } from "./flights.js";
import type { FlightDelayWeights } from "./train.js";

export const FLIGHTS_INPUT = "features";
export const FLIGHTS_OUTPUT = "probabilities";

export const scalar = (name: string, value: number): OnnxInitializer => ({ name, type: OnnxType.FLOAT, dims: [], values: [value] });
const table = (name: string, values: number[]): OnnxInitializer => ({ name, type: OnnxType.FLOAT, dims: [values.length], values });

/**
 * Looks a categorical column up in its weight table. Codes outside [0, size) and NaN fall
 * back to index 0 (the "other" bucket) rather than failing the whole batch in Gather.
 */
export function lookup(column: string, weights: string, size: number): { nodes: OnnxNode[]; initializers: OnnxInitializer[]; output: string } {
  const p = `${column}_`;
  return {
    initializers: [scalar(`${p}size`, size)],
    nodes: [
      { op: "GreaterOrEqual", inputs: [column, "zero"], outputs: [`${p}ge0`] },
      { op: "Less", inputs: [column, `${p}size`], outputs: [`${p}ltsize`] },
      { op: "And", inputs: [`${p}ge0`, `${p}ltsize`], outputs: [`${p}valid`] },
      { op: "Where", inputs: [`${p}valid`, column, "zero"], outputs: [`${p}safe`] },
      { op: "Cast", inputs: [`${p}safe`], outputs: [`${p}index`], attributes: { to: OnnxType.INT64 } },
      { op: "Gather", inputs: [weights, `${p}index`], outputs: [`${p}term`], attributes: { axis: 0 } },
    ],
    output: `${p}term`,
  };
}

/** Standardisation of a flight's distance, as the training code does it. */
export interface DistanceScaling {
  distanceMean: number;
  distanceStd: number;
  logDistanceMean: number;
  logDistanceStd: number;
}

/**
 * Distance and log(1 + distance) standardised with the training set's mean and spread, from the
 * split-off "distance" column: outputs "distance_z" and "log_distance_z", [batch, 1] each. Needs
 * the "zero" and "one" scalars.
 */
export function distanceFeatures(s: DistanceScaling): { nodes: OnnxNode[]; initializers: OnnxInitializer[] } {
  const distance = FEATURE_NAMES[2];
  return {
    nodes: [
      { op: "Max", inputs: [distance, "zero"], outputs: ["distance_clamped"] },
      { op: "Sub", inputs: ["distance_clamped", "distance_mean"], outputs: ["distance_centered"] },
      { op: "Div", inputs: ["distance_centered", "distance_std"], outputs: ["distance_z"] },
      { op: "Add", inputs: ["distance_clamped", "one"], outputs: ["distance_plus_one"] },
      { op: "Log", inputs: ["distance_plus_one"], outputs: ["log_distance"] },
      { op: "Sub", inputs: ["log_distance", "log_distance_mean"], outputs: ["log_distance_centered"] },
      { op: "Div", inputs: ["log_distance_centered", "log_distance_std"], outputs: ["log_distance_z"] },
    ],
    initializers: [
      scalar("distance_mean", s.distanceMean),
      scalar("distance_std", s.distanceStd),
      scalar("log_distance_mean", s.logDistanceMean),
      scalar("log_distance_std", s.logDistanceStd),
    ],
  };
}

/** The flight-delay classifier as an ONNX graph: features [batch, 5] FP32 -> probabilities [batch, 2] FP32. */
export function buildFlightDelayOnnx(w: FlightDelayWeights): Uint8Array {
  const [hour, weekday, , origin, destination] = FEATURE_NAMES;
  const distance = distanceFeatures(w);
  const categorical = [
    lookup(hour, "w_hour", w.hour.length),
    lookup(weekday, "w_weekday", w.weekday.length),
    lookup(origin, "w_origin", w.origin.length),
    lookup(destination, "w_destination", w.destination.length),
  ];
  const nodes: OnnxNode[] = [
    { op: "Split", inputs: [FLIGHTS_INPUT, "split_sizes"], outputs: [...FEATURE_NAMES], attributes: { axis: 1 } },
    ...categorical.flatMap((c) => c.nodes),
    ...distance.nodes,
    { op: "Mul", inputs: ["distance_z", "w_distance"], outputs: ["distance_term"] },
    { op: "Mul", inputs: ["log_distance_z", "w_log_distance"], outputs: ["log_distance_term"] },
    {
      op: "Sum",
      inputs: [...categorical.map((c) => c.output), "distance_term", "log_distance_term", "bias"],
      outputs: ["logit"],
    },
    { op: "Sigmoid", inputs: ["logit"], outputs: ["p_delayed"] },
    { op: "Sub", inputs: ["one", "p_delayed"], outputs: ["p_on_time"] },
    { op: "Concat", inputs: ["p_on_time", "p_delayed"], outputs: [FLIGHTS_OUTPUT], attributes: { axis: 1 } },
  ];
  return buildOnnxModel({
    name: "flight_delay",
    docString: "Vigil demo: probability that a US flight arrives more than 15 minutes late.",
    inputs: [{ name: FLIGHTS_INPUT, type: OnnxType.FLOAT, dims: [-1, FEATURE_NAMES.length] }],
    outputs: [{ name: FLIGHTS_OUTPUT, type: OnnxType.FLOAT, dims: [-1, 2] }],
    nodes,
    initializers: [
      { name: "split_sizes", type: OnnxType.INT64, dims: [FEATURE_NAMES.length], values: FEATURE_NAMES.map(() => 1) },
      scalar("zero", 0),
      scalar("one", 1),
      scalar("bias", w.bias),
      scalar("w_distance", w.distance),
      scalar("w_log_distance", w.logDistance),
      ...distance.initializers,
      table("w_hour", w.hour),
      table("w_weekday", w.weekday),
      table("w_origin", w.origin),
      table("w_destination", w.destination),
      ...categorical.flatMap((c) => c.initializers),
    ],
  });
}

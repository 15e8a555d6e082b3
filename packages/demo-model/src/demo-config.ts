import { type AirportVocabulary, CLASS_LABELS, FEATURE_NAMES } from "./flights.js";
import { FLIGHTS_INPUT, FLIGHTS_OUTPUT } from "./model.js";

export const DEMO_MODEL_NAME = "flights";

/** The model repository config.json for the demo classifier (the inference server validates it). */
export function demoModelConfig(vocabulary: AirportVocabulary) {
  const categories: Partial<Record<string, string[]>> = {
    hour: Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0")),
    weekday: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    origin: vocabulary.origin,
    destination: vocabulary.destination,
  };
  return {
    name: DEMO_MODEL_NAME,
    max_batch_size: 256,
    inputs: [{ name: FLIGHTS_INPUT, datatype: "FP32", dims: [FEATURE_NAMES.length] }],
    outputs: [{ name: FLIGHTS_OUTPUT, datatype: "FP32", dims: [CLASS_LABELS.length] }],
    dynamic_batching: { max_queue_delay_us: 500, preferred_batch_sizes: [64, 128, 256] },
    max_queue_size: 4096,
    classes: [...CLASS_LABELS],
    monitored_features: FEATURE_NAMES.map((name, column) =>
      name === "distance"
        ? { name, input: FLIGHTS_INPUT, column, kind: "numerical" as const }
        : { name, input: FLIGHTS_INPUT, column, kind: "categorical" as const, categories: categories[name] },
    ),
    version_policy: { latest: 1 },
    execution: { providers: ["cuda", "cpu"], intra_op_threads: 1, inter_op_threads: 1, graph_optimization_level: "all", instances: 1 },
  };
}

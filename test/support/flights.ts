import { buildVocabulary, createFlightEncoder, demoModelConfig, loadFlights, splitByMonth } from "@vigil/demo-model";
import type { FeatureSpec } from "@vigil/monitor";

/**
 * The demo model's data as the tests use it: training months and held-out months, the encoder
 * from a flight to the model's input row, and the monitored features as the prediction log
 * holds them (`index` is the column of the input row).
 */
export function demoFlights() {
  const { train, heldOut } = splitByMonth(loadFlights());
  const vocabulary = buildVocabulary(train);
  const features: FeatureSpec[] = demoModelConfig(vocabulary).monitored_features.map((f) => ({
    name: f.name,
    index: f.column,
    kind: f.kind,
    categories: f.categories,
  }));
  return { train, heldOut, vocabulary, encode: createFlightEncoder(vocabulary), features };
}

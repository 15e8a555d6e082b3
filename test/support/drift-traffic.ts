import type { LoadgenSummary } from "@vigil/cli";
import { MonitorJob } from "@vigil/monitor";
import { ModelInferRequest } from "@vigil/proto";
import { type DemoTraffic, demoTraffic, flightsTraffic } from "./demo-traffic.js";
import { rejection, unary } from "./grpc.js";

export interface DriftTraffic extends DemoTraffic {
  /** The two monitor windows, calm then drifted, in epoch ms. */
  windows: Array<{ fromMs: number; toMs: number }>;
  drifted: LoadgenSummary;
}

/**
 * Demo traffic in two monitor windows: calm requests, then requests whose distance is tripled and
 * whose hour is moved by six (planted drift); plus requests the server refused, for a model and a
 * version the repository does not hold ("nope", flights version 9), which must never pass for models.
 */
export async function driftTraffic(requests: number): Promise<DriftTraffic> {
  const traffic = await demoTraffic(requests);
  const calm = { fromMs: traffic.startedMs - 60_000, toMs: traffic.endedMs };
  const drifted = await flightsTraffic(traffic.server.address, requests, {
    labelFraction: 0.5,
    drift: [
      { feature: "distance", operation: "*", amount: 3 },
      { feature: "hour", operation: "+", amount: 6 },
    ],
  });
  const { client } = traffic.server;
  await rejection(unary(client.modelInfer, client, ModelInferRequest.fromPartial({ modelName: "nope", id: "refused-unknown-model" })));
  await rejection(unary(client.modelInfer, client, ModelInferRequest.fromPartial({ modelName: "flights", modelVersion: "9", id: "refused-unknown-version" })));
  const { store } = traffic;
  await Promise.all([store.predictions.flush(), store.labels.flush(), store.spans.flush()]);
  const late = { fromMs: calm.toMs, toMs: Date.now() };
  const monitored = (await traffic.lookup("flights", "1"))!;
  await new MonitorJob(store.engine, () => [monitored], { windowMs: 600_000, everyMs: 600_000 }).runOnce({
    fromUs: late.fromMs * 1000,
    toUs: late.toMs * 1000,
  });
  return { ...traffic, windows: [calm, late], drifted };
}

import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import type { DemoTraffic } from "./demo-traffic.js";
import { rejection, unary } from "./grpc.js";
import { contentsRequest } from "./requests.js";

/**
 * Sends `count` requests the demo model refuses (a float64 tensor where it takes float32), so the
 * prediction log and the traces hold failures beside the demo traffic; flushed before it returns.
 * Resolves with their request ids.
 */
export async function refusedRequests(traffic: DemoTraffic, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `refused-${i}`);
  for (const id of ids) {
    const error = await rejection(
      unary(
        traffic.server.client.modelInfer,
        traffic.server.client,
        contentsRequest("flights", [{ name: "features", datatype: "FP64", shape: [1, 5] }], { id }),
      ),
    );
    assert.equal(error.code, status.INVALID_ARGUMENT);
  }
  await Promise.all([traffic.store.predictions.flush(), traffic.store.spans.flush()]);
  return ids;
}

import { type ServerWritableStream, status } from "@grpc/grpc-js";
import { type HealthCheckRequest, type HealthCheckResponse, HealthCheckResponse_ServingStatus as Serving, type HealthServer } from "@vigil/proto";
import { InferenceError } from "./errors.js";
import type { ModelRepository } from "./repository.js";
import type { ServerState } from "./server-state.js";

/** Service names that report on the server as a whole. */
const SERVER_SERVICES = new Set(["", "inference.GRPCInferenceService"]);

/**
 * grpc.health.v1 over the server and its models: "" and the inference service report the
 * whole server, a model name reports that model. Open to every caller, auth or not.
 */
export function createHealthHandlers(repository: ModelRepository, state: ServerState): HealthServer {
  const statusOf = (service: string): Serving => {
    if (SERVER_SERVICES.has(service)) return !state.draining && repository.allReady() ? Serving.SERVING : Serving.NOT_SERVING;
    const modelState = repository.state(service);
    if (modelState === undefined) return Serving.SERVICE_UNKNOWN;
    return modelState === "READY" && !state.draining ? Serving.SERVING : Serving.NOT_SERVING;
  };

  return {
    check: (call, callback) => {
      const current = statusOf(call.request.service);
      if (current === Serving.SERVICE_UNKNOWN) {
        callback(new InferenceError(status.NOT_FOUND, `unknown service or model "${call.request.service}"`).toServiceError());
        return;
      }
      callback(null, { status: current });
    },
    watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
      let last: Serving | undefined;
      const send = () => {
        const current = statusOf(call.request.service);
        if (current !== last) {
          last = current;
          call.write({ status: current });
        }
      };
      const stop = () => {
        repository.off("change", send);
        state.off("change", send);
        state.openStreams.delete(close);
      };
      const close = () => {
        stop();
        call.end();
      };
      repository.on("change", send);
      state.on("change", send);
      state.openStreams.add(close);
      call.on("cancelled", stop);
      send();
    },
  };
}

import { type Metadata, type ServerWritableStream, status } from "@grpc/grpc-js";
import { type HealthCheckRequest, type HealthCheckResponse, HealthCheckResponse_ServingStatus as Serving, type HealthServer } from "@vigil/proto";
import type { BearerAuth } from "./auth.js";
import { InferenceError } from "./errors.js";
import { STRING_LIMITS, lengthProblem } from "./limits.js";
import type { ModelRepository } from "./repository.js";
import type { ServerState } from "./server-state.js";

/** Service names that report on the server as a whole. */
const SERVER_SERVICES = new Set(["", "inference.GRPCInferenceService"]);

/**
 * Why a health call may not be answered: a service name over its bound, or, when auth is on, a
 * per-model check without credentials. Answering those would tell a stranger which model names
 * exist (NOT_FOUND against a status); probes need only the server checks, which stay open.
 */
function refusal(auth: BearerAuth, metadata: Metadata, service: string): InferenceError | undefined {
  return lengthProblem("service", service, STRING_LIMITS.modelName) ?? (SERVER_SERVICES.has(service) ? undefined : auth.check(metadata));
}

/**
 * grpc.health.v1 over the server and its models: "" and the inference service report the
 * whole server to every caller, a model name reports that model to callers auth admits.
 */
export function createHealthHandlers(repository: ModelRepository, state: ServerState, auth: BearerAuth): HealthServer {
  const statusOf = (service: string): Serving => {
    if (SERVER_SERVICES.has(service)) return !state.draining && repository.allReady() ? Serving.SERVING : Serving.NOT_SERVING;
    const modelState = repository.state(service);
    if (modelState === undefined) return Serving.SERVICE_UNKNOWN;
    return modelState === "READY" && !state.draining ? Serving.SERVING : Serving.NOT_SERVING;
  };

  return {
    check: (call, callback) => {
      const refused = refusal(auth, call.metadata, call.request.service);
      if (refused) return callback(refused.toServiceError());
      const current = statusOf(call.request.service);
      if (current === Serving.SERVICE_UNKNOWN) {
        callback(new InferenceError(status.NOT_FOUND, `unknown service or model "${call.request.service}"`).toServiceError());
        return;
      }
      callback(null, { status: current });
    },
    watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
      const refused = refusal(auth, call.metadata, call.request.service);
      if (refused) {
        call.emit("error", refused.toServiceError());
        return;
      }
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

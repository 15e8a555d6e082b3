import type { InferParameter } from "@vigil/proto";
import { invalidArgument } from "./errors.js";

const STATELESS = "Vigil serves stateless models only (no sequence batching); send each request on its own";

/**
 * Request parameters Triton defines that change what a request means. Vigil does not implement
 * them, and answering as if they were absent would answer a different question, so they are
 * refused. Parameters no one defines are passed over, as Triton passes them to its backends.
 */
const UNSUPPORTED_REQUEST_PARAMETERS: Readonly<Record<string, string>> = {
  priority: "Vigil has one queue per model version, without priority levels; leave priority unset",
  timeout: "set a gRPC deadline on the call instead (client_timeout in Triton's client)",
  sequence_id: STATELESS,
  sequence_start: STATELESS,
  sequence_end: STATELESS,
};

/** Tensor parameters of Triton's shared-memory extension: the data would be somewhere Vigil never reads. */
const SHARED_MEMORY_PARAMETERS = new Set(["shared_memory_region", "shared_memory_byte_size", "shared_memory_offset"]);

/** Asks a stream for Triton's final-response flag on every answer (see service.ts). */
export const EMPTY_FINAL_RESPONSE_PARAMETER = "triton_enable_empty_final_response";
/** The answer parameter that marks the last response to a streamed request. */
export const FINAL_RESPONSE_PARAMETER = "triton_final_response";

/** Refuses request-level parameters Vigil cannot honour, naming them. */
export function checkRequestParameters(parameters: Record<string, InferParameter>): void {
  for (const key in parameters) {
    const reason = UNSUPPORTED_REQUEST_PARAMETERS[key];
    if (reason !== undefined) throw invalidArgument(`request parameter "${key}" is not supported: ${reason}`);
  }
}

/** Refuses shared-memory parameters on an input or requested output, naming the tensor. */
export function checkTensorParameters(kind: "input" | "output", name: string, parameters: Record<string, InferParameter>): void {
  for (const key in parameters) {
    if (SHARED_MEMORY_PARAMETERS.has(key)) {
      throw invalidArgument(`${kind} "${name}" sets parameter "${key}": Vigil does not implement the shared-memory extension; send the tensor in the request`);
    }
  }
}

/** Whether a request asks for Triton's final-response flag. */
export function wantsFinalResponseFlag(parameters: Record<string, InferParameter>): boolean {
  return parameters[EMPTY_FINAL_RESPONSE_PARAMETER]?.boolParam === true;
}

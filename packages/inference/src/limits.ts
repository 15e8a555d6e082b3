import type { InferParameter, ModelInferRequest } from "@vigil/proto";
import { type InferenceError, invalidArgument } from "./errors.js";

/**
 * The most UTF-8 bytes each client string may hold. Ids, names and sources are stored in the
 * prediction log, echoed in replies and quoted in error messages (a status message travels in an
 * HTTP/2 trailer, which a peer refuses past a few KiB), so each is bounded well below that: large
 * enough for any UUID, trace id or model name, small enough that a row stays a row.
 */
export const STRING_LIMITS = {
  requestId: 256,
  modelName: 256,
  modelVersion: 32,
  tensorName: 256,
  parameterKey: 256,
  parameterValue: 4096,
  label: 256,
  source: 128,
} as const;

/** Parameters one map may hold; the server reads none of them, so this only bounds the work of checking. */
const MAX_PARAMETERS = 64;

/** The INVALID_ARGUMENT for `value` when it is longer than `max` UTF-8 bytes, naming the field and the limit. */
export function lengthProblem(field: string, value: string, max: number): InferenceError | undefined {
  // A UTF-16 unit is at most 3 UTF-8 bytes, so short strings need no byte count.
  if (value.length <= max / 3) return undefined;
  const bytes = Buffer.byteLength(value, "utf8");
  return bytes > max ? invalidArgument(`${field} is ${bytes} bytes; at most ${max} are allowed`) : undefined;
}

/** Throws lengthProblem's error, if any. */
export function checkLength(field: string, value: string, max: number): void {
  const problem = lengthProblem(field, value, max);
  if (problem) throw problem;
}

/** The first `max` characters of a client string, for logs and replies about a request refused for its size. */
export const clip = (value: string, max: number): string => (value.length > max ? value.slice(0, max) : value);

/** A model name and version as a request names them. */
export function checkModelRef(name: string, version: string, fields = { name: "model_name", version: "model_version" }): void {
  checkLength(fields.name, name, STRING_LIMITS.modelName);
  checkLength(fields.version, version, STRING_LIMITS.modelVersion);
}

function checkParameters(where: string, parameters: Record<string, InferParameter>): void {
  const keys = Object.keys(parameters);
  if (keys.length > MAX_PARAMETERS) throw invalidArgument(`${where} has ${keys.length} entries; at most ${MAX_PARAMETERS} are allowed`);
  for (const key of keys) {
    checkLength(`${where} key`, key, STRING_LIMITS.parameterKey);
    const value = parameters[key]!.stringParam;
    if (value !== undefined) checkLength(`${where}[${JSON.stringify(key)}]`, value, STRING_LIMITS.parameterValue);
  }
}

/** Every client string of an inference request, before anything is looked up, stored or quoted. */
export function checkInferStrings(request: ModelInferRequest): void {
  checkLength("id", request.id, STRING_LIMITS.requestId);
  checkModelRef(request.modelName, request.modelVersion);
  checkParameters("parameters", request.parameters);
  request.inputs.forEach((input, i) => {
    checkLength(`inputs[${i}].name`, input.name, STRING_LIMITS.tensorName);
    checkLength(`inputs[${i}].datatype`, input.datatype, STRING_LIMITS.tensorName);
    checkParameters(`inputs[${i}].parameters`, input.parameters);
  });
  request.outputs.forEach((output, i) => {
    checkLength(`outputs[${i}].name`, output.name, STRING_LIMITS.tensorName);
    checkParameters(`outputs[${i}].parameters`, output.parameters);
  });
}

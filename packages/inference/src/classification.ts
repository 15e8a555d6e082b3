import type { InferParameter, ModelInferRequest_InferRequestedOutputTensor } from "@vigil/proto";
import type { NumericArray } from "./datatype-codecs.js";
import { invalidArgument } from "./errors.js";
import type { HostTensor } from "./tensors.js";

/** The requested-output parameter of Triton's classification extension (tritonclient's `class_count`). */
export const CLASSIFICATION_PARAMETER = "classification";

/** Datatypes whose elements are scores a classification can rank; FP16 and BF16 would need decoding first. */
const RANKABLE = new Set(["UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP32", "FP64"]);

/** The number of top classes a requested output asks for; 0 when it asks for the tensor itself. */
export function classCountOf(output: ModelInferRequest_InferRequestedOutputTensor): number {
  const parameter: InferParameter | undefined = output.parameters[CLASSIFICATION_PARAMETER];
  if (parameter === undefined) return 0;
  const value = parameter.int64Param ?? parameter.uint64Param;
  if (value === undefined || value < 0n || value > 2n ** 31n) {
    throw invalidArgument(
      `output "${output.name}": parameter "${CLASSIFICATION_PARAMETER}" must be a non-negative integer (int64_param), the number of top classes`,
    );
  }
  return Number(value);
}

/**
 * C++ `ostream << float` with its default precision (printf's %g with 6 significant digits),
 * the number format of Triton's classification strings.
 */
export function formatScore(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  const [mantissa, exponentText] = value.toExponential(5).split("e") as [string, string];
  const exponent = Number(exponentText);
  const trim = (digits: string) => (digits.includes(".") ? digits.replace(/\.?0+$/, "") : digits);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? "-" : "+";
    return `${trim(mantissa)}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  return trim(value.toFixed(5 - exponent));
}

/**
 * Replaces a score tensor by its `count` highest classes per row, as BYTES "score:index:label"
 * (":label" left out when the model names no classes), highest first: Triton's classification
 * extension. Every dimension after the batch dimension is one row of scores.
 */
export function classify(tensor: HostTensor, count: number, batched: boolean, classes: readonly string[] | undefined): HostTensor {
  if (!RANKABLE.has(tensor.datatype)) {
    throw invalidArgument(`output "${tensor.name}" is ${tensor.datatype}; classification ranks numeric scores only`);
  }
  const data = tensor.data as NumericArray;
  const rows = batched ? tensor.shape[0]! : 1;
  const width = rows === 0 ? 0 : data.length / rows;
  const k = Math.min(count, width);
  const scores = Array.from(data as ArrayLike<number | bigint>, Number);
  const out: string[] = [];
  for (let row = 0; row < rows; row++) {
    const start = row * width;
    const order = Array.from({ length: width }, (_, i) => i).sort((a, b) => scores[start + b]! - scores[start + a]! || a - b);
    for (const index of order.slice(0, k)) {
      const label = classes?.[index];
      out.push(`${formatScore(scores[start + index]!)}:${index}${label === undefined ? "" : `:${label}`}`);
    }
  }
  return { name: tensor.name, datatype: "BYTES", shape: batched ? [rows, k] : [k], data: out };
}

/**
 * The answer's tensors with classification applied where the request asked for it. `classes`
 * name the scores of the model's first output only (config.json), so other outputs get no labels.
 */
export function classifyOutputs(
  requested: readonly ModelInferRequest_InferRequestedOutputTensor[],
  tensors: HostTensor[],
  batched: boolean,
  firstOutput: string,
  classes: readonly string[] | undefined,
): HostTensor[] {
  if (requested.length === 0) return tensors;
  return tensors.map((tensor, i) => {
    const count = classCountOf(requested[i]!);
    return count === 0 ? tensor : classify(tensor, count, batched, tensor.name === firstOutput ? classes : undefined);
  });
}

import type { ModelInferRequest, ModelInferResponse_InferOutputTensor, InferTensorContents } from "@vigil/proto";
import { type Datatype, isDatatype } from "@vigil/model-repository";
import { type ContentsField, DATATYPE_INFO, type NumericArray } from "./datatype-codecs.js";
import { invalidArgument } from "./errors.js";
import { classCountOf } from "./classification.js";
import { checkTensorParameters } from "./request-parameters.js";

/** A tensor in host memory: numeric data as the typed array onnxruntime takes, BYTES as strings. */
export interface HostTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: NumericArray | string[];
}

export interface TensorSignature {
  name: string;
  datatype: Datatype;
  /** Full shape including the batch dimension when the model batches; -1 is variable. */
  shape: number[];
}

/** What request validation needs to know about one model version. */
export interface ModelSignature {
  name: string;
  maxBatchSize: number;
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

const CONTENTS_FIELDS: ContentsField[] = [
  "boolContents",
  "intContents",
  "int64Contents",
  "uintContents",
  "uint64Contents",
  "fp32Contents",
  "fp64Contents",
  "bytesContents",
];

const MAX_DIMENSION = 2 ** 31 - 1;
const utf8 = new TextDecoder("utf-8", { fatal: true });

export const formatShape = (shape: ArrayLike<number | bigint>) => `[${Array.from(shape).join(",")}]`;
const describe = (t: TensorSignature) => `${t.name} (${t.datatype} ${formatShape(t.shape)})`;

/** Rows a request carries: its batch dimension when the model batches, else one. */
export function requestRows(model: ModelSignature, inputs: HostTensor[]): number {
  return model.maxBatchSize > 0 ? inputs[0]!.shape[0]! : 1;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkShape(input: TensorSignature, requested: readonly bigint[], model: ModelSignature): number[] {
  const where = `input "${input.name}" of model "${model.name}"`;
  if (requested.length !== input.shape.length) {
    throw invalidArgument(`${where} has shape ${formatShape(requested)} but the model expects ${formatShape(input.shape)} (rank ${input.shape.length})`);
  }
  const shape = requested.map((d, i) => {
    if (d < 0n) throw invalidArgument(`${where} has negative dimension ${d} at index ${i} in shape ${formatShape(requested)}`);
    if (d > BigInt(MAX_DIMENSION)) throw invalidArgument(`${where} has dimension ${d} at index ${i}, larger than ${MAX_DIMENSION}`);
    const expected = input.shape[i]!;
    if (expected >= 0 && BigInt(expected) !== d) {
      throw invalidArgument(
        `${where} has shape ${formatShape(requested)} but the model expects ${formatShape(input.shape)} (dimension ${i} must be ${expected})`,
      );
    }
    return Number(d);
  });
  if (model.maxBatchSize > 0) {
    const batch = shape[0]!;
    if (batch === 0) throw invalidArgument(`${where} has batch size 0; send at least one row`);
    if (batch > model.maxBatchSize) {
      throw invalidArgument(`${where} has batch size ${batch}, over the model's max_batch_size ${model.maxBatchSize}; split the request`);
    }
  }
  return shape;
}

function decodeRawBytesTensor(where: string, raw: Uint8Array, count: number): string[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: string[] = [];
  let offset = 0;
  while (offset < raw.byteLength) {
    if (offset + 4 > raw.byteLength) {
      throw invalidArgument(`${where}: BYTES element ${out.length} has a truncated 4-byte length prefix at byte ${offset}`);
    }
    const length = view.getUint32(offset, true);
    offset += 4;
    if (offset + length > raw.byteLength) {
      throw invalidArgument(`${where}: BYTES element ${out.length} declares ${length} bytes but only ${raw.byteLength - offset} remain`);
    }
    out.push(decodeUtf8(where, out.length, raw.subarray(offset, offset + length)));
    offset += length;
  }
  if (out.length !== count) throw invalidArgument(`${where}: raw BYTES data holds ${out.length} elements, the shape needs ${count}`);
  return out;
}

function decodeUtf8(where: string, index: number, bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalidArgument(`${where}: BYTES element ${index} is not valid UTF-8 (the model takes text strings)`);
  }
}

function decodeRaw(input: TensorSignature, where: string, shape: number[], raw: Uint8Array): NumericArray | string[] {
  const count = elementCount(shape);
  const info = DATATYPE_INFO[input.datatype];
  if (input.datatype === "BYTES") return decodeRawBytesTensor(where, raw, count);
  const expected = count * info.size;
  if (raw.byteLength !== expected) {
    throw invalidArgument(
      `${where}: raw_input_contents has ${raw.byteLength} bytes but shape ${formatShape(shape)} of ${input.datatype} needs ${expected} (${count} x ${info.size})`,
    );
  }
  // Copy into a fresh, aligned buffer: protobuf slices can start at any byte offset, and
  // Buffer#slice would return a view into grpc's pooled memory rather than a copy.
  const aligned = new Uint8Array(raw).buffer;
  return info.fromBytes!(aligned);
}

function decodeContents(input: TensorSignature, where: string, shape: number[], contents: InferTensorContents | undefined): NumericArray | string[] {
  const info = DATATYPE_INFO[input.datatype];
  const field = info.contents;
  if (!field) throw invalidArgument(`${where}: ${input.datatype} travels only as raw bytes; use raw_input_contents`);
  const misplaced = CONTENTS_FIELDS.find((f) => f !== field && (contents?.[f]?.length ?? 0) > 0);
  if (misplaced) throw invalidArgument(`${where}: ${input.datatype} data must be in contents.${field}, not contents.${misplaced}`);
  const values = contents?.[field] ?? [];
  const count = elementCount(shape);
  if (values.length !== count) {
    throw invalidArgument(`${where}: contents.${field} has ${values.length} elements but shape ${formatShape(shape)} needs ${count}`);
  }
  if (input.datatype === "BYTES") return (values as Uint8Array[]).map((bytes, i) => decodeUtf8(where, i, bytes));
  return info.fromValues!(values as ArrayLike<number | bigint | boolean>);
}

/**
 * Checks every input of a request against the model's signature and decodes it.
 * Each failure is INVALID_ARGUMENT with a message that names the input and what was expected.
 */
export function decodeInputs(request: ModelInferRequest, model: ModelSignature): HostTensor[] {
  const expected = model.inputs.map(describe).join(", ");
  if (request.inputs.length === 0) throw invalidArgument(`request has no inputs; model "${model.name}" expects ${expected}`);
  const useRaw = request.rawInputContents.length > 0;
  if (useRaw && request.rawInputContents.length !== request.inputs.length) {
    throw invalidArgument(
      `raw_input_contents has ${request.rawInputContents.length} entries but the request has ${request.inputs.length} inputs; send one per input, in order`,
    );
  }
  const seen = new Set<string>();
  const tensors = request.inputs.map((tensor, index) => {
    const signature = model.inputs.find((s) => s.name === tensor.name);
    if (!signature) throw invalidArgument(`unknown input "${tensor.name}" for model "${model.name}"; it expects ${expected}`);
    if (seen.has(tensor.name)) throw invalidArgument(`input "${tensor.name}" appears more than once`);
    seen.add(tensor.name);
    const where = `input "${tensor.name}"`;
    checkTensorParameters("input", tensor.name, tensor.parameters);
    if (!isDatatype(tensor.datatype)) {
      throw invalidArgument(`${where} has unknown datatype "${tensor.datatype}"; model "${model.name}" expects ${signature.datatype}`);
    }
    if (tensor.datatype !== signature.datatype) {
      throw invalidArgument(`${where} has datatype ${tensor.datatype} but model "${model.name}" expects ${signature.datatype}`);
    }
    const shape = checkShape(signature, tensor.shape, model);
    const hasContents = tensor.contents !== undefined && CONTENTS_FIELDS.some((f) => (tensor.contents?.[f]?.length ?? 0) > 0);
    if (useRaw && hasContents) {
      throw invalidArgument(`${where} sets contents but the request also uses raw_input_contents; use one form for all inputs`);
    }
    const data = useRaw ? decodeRaw(signature, where, shape, request.rawInputContents[index]!) : decodeContents(signature, where, shape, tensor.contents);
    return { name: tensor.name, datatype: signature.datatype, shape, data };
  });
  const missing = model.inputs.filter((s) => !seen.has(s.name));
  if (missing.length > 0) throw invalidArgument(`missing input${missing.length > 1 ? "s" : ""} ${missing.map(describe).join(", ")} for model "${model.name}"`);
  if (model.maxBatchSize > 0) {
    const batch = tensors[0]!.shape[0];
    const other = tensors.find((t) => t.shape[0] !== batch);
    if (other) throw invalidArgument(`inputs disagree on batch size: "${tensors[0]!.name}" has ${batch}, "${other.name}" has ${other.shape[0]}`);
  }
  return tensors;
}

/**
 * The output names to return: all of them when the request names none; unknown names, and
 * parameters that cannot be honoured, are an error before the model runs.
 */
export function selectOutputs(request: ModelInferRequest, model: ModelSignature): string[] {
  if (request.outputs.length === 0) return model.outputs.map((o) => o.name);
  const seen = new Set<string>();
  return request.outputs.map((output) => {
    const name = output.name;
    checkTensorParameters("output", name, output.parameters);
    classCountOf(output);
    if (!model.outputs.some((o) => o.name === name)) {
      throw invalidArgument(`unknown output "${name}" requested from model "${model.name}"; it has ${model.outputs.map((o) => o.name).join(", ")}`);
    }
    if (seen.has(name)) throw invalidArgument(`output "${name}" is requested more than once`);
    seen.add(name);
    return name;
  });
}

function encodeRawBytesTensor(values: string[]): Buffer {
  const parts = values.map((v) => Buffer.from(v, "utf8"));
  const out = Buffer.allocUnsafe(parts.reduce((a, p) => a + 4 + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.writeUInt32LE(part.length, offset);
    part.copy(out, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

/**
 * Encodes outputs as raw_output_contents, whatever form the request used: Triton always answers
 * this way and its clients read only this form (typed `contents` would make `as_numpy` fail).
 */
export function encodeOutputs(tensors: HostTensor[]): { outputs: ModelInferResponse_InferOutputTensor[]; rawOutputContents: Buffer[] } {
  const outputs = tensors.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt), parameters: {}, contents: undefined }));
  const rawOutputContents = tensors.map((t) => {
    if (t.datatype === "BYTES") return encodeRawBytesTensor(t.data as string[]);
    const data = t.data as NumericArray;
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  });
  return { outputs, rawOutputContents };
}

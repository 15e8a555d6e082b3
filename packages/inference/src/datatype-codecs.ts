import type { Datatype } from "@vigil/model-repository";
import type { Tensor } from "onnxruntime-node";

/** Which repeated field of InferTensorContents carries a datatype (undefined: raw bytes only). */
export type ContentsField =
  | "boolContents"
  | "intContents"
  | "int64Contents"
  | "uintContents"
  | "uint64Contents"
  | "fp32Contents"
  | "fp64Contents"
  | "bytesContents";

export type NumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

export interface DatatypeInfo {
  /** Bytes per element in raw form; 0 for BYTES, whose elements carry their own lengths. */
  size: number;
  ort: Tensor.Type;
  contents: ContentsField | undefined;
  /** Builds the typed array onnxruntime expects for this datatype over a copy of little-endian bytes. */
  fromBytes?: (buffer: ArrayBuffer) => NumericArray;
  /** Builds the typed array from protobuf contents values. */
  fromValues?: (values: ArrayLike<number | bigint | boolean>) => NumericArray;
}

const numbers = (values: ArrayLike<number | bigint | boolean>) => Array.from(values, Number);
const bigints = (values: ArrayLike<number | bigint | boolean>) => Array.from(values, (v) => BigInt(v));

export const DATATYPE_INFO: Record<Datatype, DatatypeInfo> = {
  BOOL: { size: 1, ort: "bool", contents: "boolContents", fromBytes: (b) => new Uint8Array(b), fromValues: (v) => Uint8Array.from(numbers(v)) },
  UINT8: { size: 1, ort: "uint8", contents: "uintContents", fromBytes: (b) => new Uint8Array(b), fromValues: (v) => Uint8Array.from(numbers(v)) },
  UINT16: { size: 2, ort: "uint16", contents: "uintContents", fromBytes: (b) => new Uint16Array(b), fromValues: (v) => Uint16Array.from(numbers(v)) },
  UINT32: { size: 4, ort: "uint32", contents: "uintContents", fromBytes: (b) => new Uint32Array(b), fromValues: (v) => Uint32Array.from(numbers(v)) },
  UINT64: { size: 8, ort: "uint64", contents: "uint64Contents", fromBytes: (b) => new BigUint64Array(b), fromValues: (v) => BigUint64Array.from(bigints(v)) },
  INT8: { size: 1, ort: "int8", contents: "intContents", fromBytes: (b) => new Int8Array(b), fromValues: (v) => Int8Array.from(numbers(v)) },
  INT16: { size: 2, ort: "int16", contents: "intContents", fromBytes: (b) => new Int16Array(b), fromValues: (v) => Int16Array.from(numbers(v)) },
  INT32: { size: 4, ort: "int32", contents: "intContents", fromBytes: (b) => new Int32Array(b), fromValues: (v) => Int32Array.from(numbers(v)) },
  INT64: { size: 8, ort: "int64", contents: "int64Contents", fromBytes: (b) => new BigInt64Array(b), fromValues: (v) => BigInt64Array.from(bigints(v)) },
  FP16: { size: 2, ort: "float16", contents: undefined, fromBytes: (b) => new Uint16Array(b) },
  FP32: { size: 4, ort: "float32", contents: "fp32Contents", fromBytes: (b) => new Float32Array(b), fromValues: (v) => Float32Array.from(numbers(v)) },
  FP64: { size: 8, ort: "float64", contents: "fp64Contents", fromBytes: (b) => new Float64Array(b), fromValues: (v) => Float64Array.from(numbers(v)) },
  BYTES: { size: 0, ort: "string", contents: "bytesContents" },
};

const ORT_TO_DATATYPE = new Map<string, Datatype>(Object.entries(DATATYPE_INFO).map(([name, info]) => [info.ort, name as Datatype]));

export function datatypeFromOrt(type: string): Datatype | undefined {
  return ORT_TO_DATATYPE.get(type);
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // Raw tensors are little-endian on the wire and are viewed in place as typed arrays.
  throw new Error("Vigil's inference server requires a little-endian host");
}

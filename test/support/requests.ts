import { readFile } from "node:fs/promises";
import * as ort from "onnxruntime-node";
import { type InferTensorContents, ModelInferRequest, type ModelInferResponse } from "@vigil/proto";

type Contents = Partial<InferTensorContents>;

export interface InputSpec {
  name: string;
  datatype: string;
  shape: number[];
  contents?: Contents;
}

/** A ModelInferRequest with typed contents (the protocol's structured form). */
export function contentsRequest(modelName: string, inputs: InputSpec[], extra: Partial<ModelInferRequest> = {}): ModelInferRequest {
  return ModelInferRequest.fromPartial({
    modelName,
    inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape.map(BigInt), contents: i.contents ?? {} })),
    ...extra,
  });
}

/** A ModelInferRequest with raw_input_contents, as Triton clients send it. */
export function rawRequest(
  modelName: string,
  inputs: Array<{ name: string; datatype: string; shape: number[]; bytes: Uint8Array }>,
  extra: Partial<ModelInferRequest> = {},
): ModelInferRequest {
  return ModelInferRequest.fromPartial({
    modelName,
    inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape.map(BigInt) })),
    rawInputContents: inputs.map((i) => Buffer.from(i.bytes.buffer, i.bytes.byteOffset, i.bytes.byteLength)),
    ...extra,
  });
}

export const bytesOf = (view: ArrayBufferView) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);

/** Reads raw output `index` as Float32 values (copying, since protobuf slices may be unaligned). */
export function rawFloat32(response: ModelInferResponse, index = 0): Float32Array {
  const raw = response.rawOutputContents[index];
  if (!raw) throw new Error(`response has no raw output ${index}`);
  return new Float32Array(Uint8Array.from(raw).buffer);
}

/** Runs a model file directly in onnxruntime: the independent reference for what the server returns. */
export async function referenceRun(modelPath: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(await readFile(modelPath));
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Flight feature rows (hour, weekday, distance, origin code, destination code) for requests. */
export const FLIGHT_ROWS: number[][] = [
  [17, 4, 1000, 5, 7],
  [8, 0, 300, 3, 3],
  [6, 6, 2500, 1, 12],
  [22, 2, 90, 0, 0],
];

import type { ModelInferResponse } from "@vigil/proto";

/**
 * The values of a named output of an answer, decoded from raw_output_contents (the only form
 * the server answers in, as Triton does): numbers, bigints for 64-bit integers, strings for BYTES.
 */
export function outputValues(response: ModelInferResponse, name: string): number[] | bigint[] | string[] {
  const index = response.outputs.findIndex((o) => o.name === name);
  if (index < 0) throw new Error(`response has no output "${name}" (it has ${response.outputs.map((o) => o.name).join(", ")})`);
  const tensor = response.outputs[index]!;
  const raw = response.rawOutputContents[index];
  if (!raw) throw new Error(`output "${name}" has no raw_output_contents entry`);
  const buffer = Uint8Array.from(raw).buffer;
  switch (tensor.datatype) {
    case "FP32":
      return Array.from(new Float32Array(buffer));
    case "FP64":
      return Array.from(new Float64Array(buffer));
    case "INT32":
      return Array.from(new Int32Array(buffer));
    case "INT64":
      return Array.from(new BigInt64Array(buffer));
    case "BYTES":
      return bytesElements(raw);
    default:
      throw new Error(`outputValues does not decode ${tensor.datatype}`);
  }
}

/** BYTES elements of a raw tensor: each a 4-byte little-endian length, then that many UTF-8 bytes. */
export function bytesElements(raw: Uint8Array): string[] {
  const buffer = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: string[] = [];
  for (let offset = 0; offset < buffer.length; ) {
    const length = buffer.readUInt32LE(offset);
    out.push(buffer.toString("utf8", offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return out;
}

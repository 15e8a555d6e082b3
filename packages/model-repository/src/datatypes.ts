/** Open Inference Protocol tensor datatypes; Triton's BF16 is not among them (onnxruntime-node has no bfloat16 tensors). */
export const DATATYPES = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"] as const;
export type Datatype = (typeof DATATYPES)[number];

export function isDatatype(name: string): name is Datatype {
  return (DATATYPES as readonly string[]).includes(name);
}

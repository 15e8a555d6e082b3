import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** ONNX element types Vigil's models use, by the name the ONNX spec gives them. */
export const OnnxType = {
  FLOAT: onnx.TensorProto.DataType.FLOAT,
  DOUBLE: onnx.TensorProto.DataType.DOUBLE,
  INT32: onnx.TensorProto.DataType.INT32,
  INT64: onnx.TensorProto.DataType.INT64,
  UINT8: onnx.TensorProto.DataType.UINT8,
  BOOL: onnx.TensorProto.DataType.BOOL,
  STRING: onnx.TensorProto.DataType.STRING,
} as const;
export type OnnxType = (typeof OnnxType)[keyof typeof OnnxType];

/** A graph input or output; a negative or string dimension is symbolic (the batch dimension, usually). */
export interface OnnxValue {
  name: string;
  type: OnnxType;
  dims: Array<number | string>;
}

/**
 * A node attribute: whole numbers are written as INT, others as FLOAT, lists as INTS. A FLOAT
 * attribute whose value happens to be whole (Gemm's beta = 2) is given as { float: 2 }:
 * onnxruntime ignores an attribute of the wrong type and silently uses its default.
 */
export type OnnxAttribute = number | number[] | { float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, OnnxAttribute>;
}

export interface OnnxInitializer {
  name: string;
  type: typeof OnnxType.FLOAT | typeof OnnxType.INT64;
  dims: number[];
  values: ArrayLike<number>;
}

export interface OnnxGraphSpec {
  name: string;
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  nodes: OnnxNode[];
  initializers?: OnnxInitializer[];
  opset?: number;
  docString?: string;
}

function valueInfo(value: OnnxValue): onnxProto.onnx.IValueInfoProto {
  return {
    name: value.name,
    type: {
      tensorType: {
        elemType: value.type,
        shape: {
          dim: value.dims.map((d) => (typeof d === "string" ? { dimParam: d } : d < 0 ? { dimParam: "batch" } : { dimValue: d })),
        },
      },
    },
  };
}

function attribute(name: string, value: OnnxAttribute): onnxProto.onnx.IAttributeProto {
  if (Array.isArray(value)) {
    return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: value };
  }
  if (typeof value === "object") return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value.float };
  return Number.isInteger(value)
    ? { name, type: onnx.AttributeProto.AttributeType.INT, i: value }
    : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value };
}

function initializer(init: OnnxInitializer): onnxProto.onnx.ITensorProto {
  const values = Array.from(init.values);
  return init.type === OnnxType.FLOAT
    ? { name: init.name, dataType: init.type, dims: init.dims, floatData: values }
    : { name: init.name, dataType: init.type, dims: init.dims, int64Data: values };
}

/** Serialises a graph into an ONNX ModelProto (IR version 8) ready for onnxruntime. */
export function buildOnnxModel(spec: OnnxGraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "vigil",
    producerVersion: "0.1.0",
    docString: spec.docString ?? "",
    opsetImport: [{ domain: "", version: spec.opset ?? 17 }],
    graph: {
      name: spec.name,
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      initializer: (spec.initializers ?? []).map(initializer),
      node: spec.nodes.map((n, i) => ({
        name: `${n.op.toLowerCase()}_${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attribute(k, v)),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

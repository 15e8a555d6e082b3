import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
type Tensor = onnxProto.onnx.ITensorProto;
type Node = onnxProto.onnx.INodeProto;
type ProtoInteger = number | { toNumber(): number };

/** Symmetric int8 keeps zero exact and the range balanced: [-127, 127], -128 unused (onnxruntime's choice for symmetric weights). */
const INT8_LIMIT = 127;
/** The smallest normal float32; a scale below it would overflow on division, so such a column keeps scale 1 (all its weights are zero). */
const FLOAT32_TINY = 2 ** -126;
/** DynamicQuantizeLinear arrived in opset 11, MatMulInteger in 10. */
const MIN_OPSET = 11;

export interface ChannelQuantized {
  /** Row-major [rows, columns], like the float weights. */
  values: Int8Array;
  /** One scale per column: the float weight is values * scale. */
  scales: Float32Array;
}

/** Rounds halves to the even neighbour, as numpy's round does, so the result matches onnxruntime's Python quantizer. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Symmetric per-column int8 quantization of a row-major [rows, columns] float32 matrix: each
 * column's scale is its largest absolute value over 127, and every value becomes round(w / scale).
 * Arithmetic is in float32 (fround after each step), as onnxruntime's numpy code does it.
 */
export function quantizePerColumn(weights: Float32Array, rows: number, columns: number): ChannelQuantized {
  if (weights.length !== rows * columns) throw new Error(`weights hold ${weights.length} values, not ${rows} x ${columns}`);
  const scales = new Float32Array(columns);
  for (let c = 0; c < columns; c++) {
    let largest = 0;
    for (let r = 0; r < rows; r++) largest = Math.max(largest, Math.abs(weights[r * columns + c]!));
    const scale = Math.fround(largest / INT8_LIMIT);
    scales[c] = scale < FLOAT32_TINY ? 1 : scale;
  }
  const values = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const q = roundHalfEven(Math.fround(weights[i]! / scales[i % columns]!));
    values[i] = Math.max(-INT8_LIMIT, Math.min(INT8_LIMIT, q));
  }
  return { values, scales };
}

/** One float weight matrix replaced by int8 values and per-column scales. */
export interface QuantizedWeight {
  /** The initializer's name in the float model. */
  name: string;
  /** The MatMul or Gemm nodes that used it. */
  nodes: string[];
  /** Input features (K) and output channels (N): the weight as MatMulInteger reads it, [K, N]. */
  rows: number;
  columns: number;
}

export interface QuantizationResult {
  model: Uint8Array;
  weights: QuantizedWeight[];
  bytesBefore: number;
  bytesAfter: number;
}

/** The model has no MatMul or Gemm whose weight is a float matrix stored in the file. */
export class NothingToQuantizeError extends Error {
  override name = "NothingToQuantizeError";
}

const toNumber = (value: ProtoInteger | null | undefined): number => (value == null ? 0 : typeof value === "number" ? value : value.toNumber());

/** The float32 values of an initializer, whichever of the two encodings the producer chose. */
function floatValues(tensor: Tensor): Float32Array {
  if (tensor.rawData && tensor.rawData.length > 0) {
    const raw = tensor.rawData;
    // Copied so the values are aligned and little-endian regardless of the buffer they came in.
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Float32Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true));
  }
  return Float32Array.from(tensor.floatData ?? []);
}

function transpose(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c]!;
  return out;
}

function intAttribute(node: Node, name: string, fallback: number): number {
  const found = node.attribute?.find((a) => a.name === name);
  return found ? toNumber(found.i) : fallback;
}

function floatAttribute(node: Node, name: string, fallback: number): number {
  const found = node.attribute?.find((a) => a.name === name && a.type === onnx.AttributeProto.AttributeType.FLOAT);
  return found?.f ?? fallback;
}

function defaultOpset(model: onnxProto.onnx.IModelProto): number {
  const entry = model.opsetImport?.find((o) => !o.domain || o.domain === "ai.onnx");
  return toNumber(entry?.version);
}

/** A weight a node multiplies by, in the [K, N] layout MatMulInteger wants, with what else the node applies. */
interface Candidate {
  node: Node;
  activation: string;
  weight: Tensor;
  /** Gemm with transB: the stored weight is [N, K]. */
  transposed: boolean;
  rows: number;
  columns: number;
  /** Gemm's alpha, folded into the scales. */
  alpha: number;
  /** Gemm's bias input and beta, added after the product. */
  bias?: { name: string; beta: number };
}

/**
 * The MatMul/Gemm nodes whose second operand is a 2-D float initializer (not also a graph input,
 * which a caller could override) and whose first is the activation. Gemm with transA is left
 * alone: its activation would need a transpose before quantization for no gain in practice.
 */
function candidates(graph: onnxProto.onnx.IGraphProto): Candidate[] {
  const inputs = new Set((graph.input ?? []).map((i) => i.name));
  const weights = new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t]));
  const found: Candidate[] = [];
  for (const node of graph.node ?? []) {
    if (node.opType !== "MatMul" && node.opType !== "Gemm") continue;
    if (node.domain && node.domain !== "ai.onnx") continue;
    const [activation, weightName, biasName] = node.input ?? [];
    const weight = weightName ? weights.get(weightName) : undefined;
    if (!activation || !weight || inputs.has(weightName!)) continue;
    if (weight.dataType !== onnx.TensorProto.DataType.FLOAT || weight.dims?.length !== 2) continue;
    if (weight.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const [d0, d1] = weight.dims.map(toNumber) as [number, number];
    const gemm = node.opType === "Gemm";
    if (gemm && intAttribute(node, "transA", 0) !== 0) continue;
    const transposed = gemm && intAttribute(node, "transB", 0) !== 0;
    const [rows, columns] = transposed ? [d1, d0] : [d0, d1];
    const beta = floatAttribute(node, "beta", 1);
    found.push({
      node,
      activation,
      weight,
      transposed,
      rows,
      columns,
      alpha: gemm ? floatAttribute(node, "alpha", 1) : 1,
      bias: gemm && biasName && beta !== 0 ? { name: biasName, beta } : undefined,
    });
  }
  return found;
}

/** A candidate's float weights in the [K, N] layout MatMulInteger reads (a transB weight transposed). */
function weightMatrix(c: Candidate): Float32Array {
  const stored = floatValues(c.weight);
  if (stored.length !== c.rows * c.columns) {
    throw new Error(`initializer "${c.weight.name}" holds ${stored.length} values for dims [${c.weight.dims?.map(toNumber).join(", ")}]`);
  }
  return c.transposed ? transpose(stored, c.columns, c.rows) : stored;
}

/** Every value a graph's nodes (and the subgraphs of If, Loop, Scan) read, and its outputs. */
function valuesRead(graph: onnxProto.onnx.IGraphProto, into = new Set<string>()): Set<string> {
  for (const output of graph.output ?? []) if (output.name) into.add(output.name);
  for (const n of graph.node ?? []) {
    for (const input of n.input ?? []) into.add(input);
    for (const a of n.attribute ?? []) for (const sub of [a.g, ...(a.graphs ?? [])]) if (sub) valuesRead(sub, into);
  }
  return into;
}

/** Hands out names no value or initializer of the graph uses yet. */
function nameAllocator(graph: onnxProto.onnx.IGraphProto): (wanted: string) => string {
  const taken = new Set<string>();
  for (const list of [graph.input, graph.output, graph.initializer, graph.valueInfo]) for (const v of list ?? []) if (v.name) taken.add(v.name);
  for (const node of graph.node ?? []) {
    for (const name of [...(node.input ?? []), ...(node.output ?? [])]) taken.add(name);
    if (node.name) taken.add(node.name);
  }
  return (wanted) => {
    let name = wanted;
    for (let i = 1; taken.has(name); i++) name = `${wanted}_${i}`;
    taken.add(name);
    return name;
  };
}

const floatTensor = (name: string, dims: number[], values: Float32Array): Tensor => ({
  name,
  dataType: onnx.TensorProto.DataType.FLOAT,
  dims,
  rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
});

const int8Tensor = (name: string, dims: number[], values: Int8Array): Tensor => ({
  name,
  dataType: onnx.TensorProto.DataType.INT8,
  dims,
  rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
});

const node = (opType: string, name: string, input: string[], output: string[], attribute: onnxProto.onnx.IAttributeProto[] = []): Node => ({
  opType,
  name,
  input,
  output,
  attribute,
});

/**
 * Dynamic int8 quantization of an ONNX model's MatMul and Gemm weights, per output channel, in
 * the form onnxruntime's quantize_dynamic writes: each float weight W [K, N] becomes an int8
 * initializer with one scale per column (symmetric, zero point 0); at run time the activation is
 * quantized to uint8 by DynamicQuantizeLinear (one scale for the whole tensor, so a row's result
 * depends slightly on the other rows of its batch), multiplied by MatMulInteger into int32, cast
 * to float and scaled by activation scale x column scale; Gemm's bias is added after. Every other
 * node, and the graph's inputs and outputs, stay as they are.
 */
export function quantizeDynamicInt8(modelBytes: Uint8Array): QuantizationResult {
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph;
  if (!graph) throw new Error("the model has no graph");
  const found = candidates(graph);
  if (found.length === 0)
    throw new NothingToQuantizeError("the model has no MatMul or Gemm with a float weight matrix stored in the file: nothing to quantize");
  const opset = defaultOpset(model);
  if (opset < MIN_OPSET) throw new Error(`the model imports ONNX opset ${opset}; int8 operators (DynamicQuantizeLinear) need opset ${MIN_OPSET} or later`);

  const fresh = nameAllocator(graph);
  const replaced = new Map<Node, Node[]>();
  const added: Tensor[] = [];
  // Keyed by weight and layout: a weight read both as stored and transposed is quantized once for each.
  const quantizedWeights = new Map<string, { values: string; scales: Float32Array; report: QuantizedWeight }>();
  const activations = new Map<string, { values: string; scale: string; zeroPoint: string }>();

  for (const c of found) {
    const weightName = c.weight.name ?? "";
    const key = `${weightName}:${c.transposed}`;
    let weight = quantizedWeights.get(key);
    if (!weight) {
      const q = quantizePerColumn(weightMatrix(c), c.rows, c.columns);
      const values = fresh(`${weightName}_quantized`);
      added.push(int8Tensor(values, [c.rows, c.columns], q.values));
      weight = { values, scales: q.scales, report: { name: weightName, nodes: [], rows: c.rows, columns: c.columns } };
      quantizedWeights.set(key, weight);
    }
    const nodeName = c.node.name || c.node.output?.[0] || weightName;
    weight.report.nodes.push(nodeName);
    const scales = fresh(`${nodeName}_weight_scale`);
    added.push(floatTensor(scales, [c.columns], c.alpha === 1 ? weight.scales : weight.scales.map((s) => Math.fround(s * c.alpha))));

    const sequence: Node[] = [];
    // One activation quantization serves every product that reads the same tensor.
    let activation = activations.get(c.activation);
    if (!activation) {
      activation = { values: fresh(`${c.activation}_quantized`), scale: fresh(`${c.activation}_scale`), zeroPoint: fresh(`${c.activation}_zero_point`) };
      activations.set(c.activation, activation);
      sequence.push(
        node("DynamicQuantizeLinear", fresh(`${c.activation}_quantize`), [c.activation], [activation.values, activation.scale, activation.zeroPoint]),
      );
    }
    const output = c.node.output?.[0];
    if (!output) throw new Error(`node "${nodeName}" has no output`);
    const product = fresh(`${nodeName}_int32`);
    const productFloat = fresh(`${nodeName}_int32_float`);
    const combinedScale = fresh(`${nodeName}_scale`);
    const scaled = c.bias ? fresh(`${nodeName}_scaled`) : output;
    sequence.push(
      node("MatMulInteger", fresh(`${nodeName}_matmul_integer`), [activation.values, weight.values, activation.zeroPoint], [product]),
      node(
        "Cast",
        fresh(`${nodeName}_cast`),
        [product],
        [productFloat],
        [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: onnx.TensorProto.DataType.FLOAT }],
      ),
      node("Mul", fresh(`${nodeName}_combine_scales`), [activation.scale, scales], [combinedScale]),
      node("Mul", fresh(`${nodeName}_rescale`), [productFloat, combinedScale], [scaled]),
    );
    if (c.bias) {
      let bias = c.bias.name;
      if (c.bias.beta !== 1) {
        const beta = fresh(`${nodeName}_beta`);
        added.push(floatTensor(beta, [], Float32Array.of(c.bias.beta)));
        bias = fresh(`${nodeName}_bias_scaled`);
        sequence.push(node("Mul", fresh(`${nodeName}_scale_bias`), [c.bias.name, beta], [bias]));
      }
      sequence.push(node("Add", fresh(`${nodeName}_add_bias`), [scaled, bias], [output]));
    }
    replaced.set(c.node, sequence);
  }

  graph.node = (graph.node ?? []).flatMap((n) => replaced.get(n) ?? [n]);
  // A float weight stays when something else still reads it: another node, a subgraph, an output.
  const stillUsed = valuesRead(graph);
  const dropped = new Set([...quantizedWeights.values()].map((w) => w.report.name).filter((name) => !stillUsed.has(name)));
  graph.initializer = [...(graph.initializer ?? []).filter((t) => !dropped.has(t.name ?? "")), ...added];
  const bytes = onnx.ModelProto.encode(model).finish();
  return {
    model: bytes,
    weights: [...quantizedWeights.values()].map((w) => w.report),
    bytesBefore: modelBytes.byteLength,
    bytesAfter: bytes.byteLength,
  };
}

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";
import { NothingToQuantizeError, OnnxType, buildOnnxModel, quantizeDynamicInt8, quantizePerColumn, seededUniform } from "./index.js";

const { onnx } = onnxProto;
const REFERENCE = join(import.meta.dirname, "..", "..", "..", "test", "python", "int8_reference.py");

const [K, N, M] = [48, 12, 10];

/**
 * Two products of one input, so their activation quantization is shared: y1 = x W1 (MatMul) and
 * y2 = 0.5 x W2^T + 1.5 c (Gemm with transB, alpha, beta and a bias).
 */
function twoProductModel(opset = 17): { onnx: Uint8Array; w1: Float32Array; w2: Float32Array; bias: Float32Array } {
  const w1 = seededUniform(K * N, 3, 0.4);
  const w2 = seededUniform(N * K, 4, 0.8);
  const bias = seededUniform(N, 5, 0.1);
  const onnxBytes = buildOnnxModel({
    name: "two_products",
    opset,
    inputs: [{ name: "x", type: OnnxType.FLOAT, dims: [-1, K] }],
    outputs: [
      { name: "y1", type: OnnxType.FLOAT, dims: [-1, N] },
      { name: "y2", type: OnnxType.FLOAT, dims: [-1, N] },
    ],
    initializers: [
      { name: "w1", type: OnnxType.FLOAT, dims: [K, N], values: w1 },
      { name: "w2", type: OnnxType.FLOAT, dims: [N, K], values: w2 },
      { name: "c", type: OnnxType.FLOAT, dims: [N], values: bias },
    ],
    nodes: [
      { op: "MatMul", inputs: ["x", "w1"], outputs: ["y1"] },
      { op: "Gemm", inputs: ["x", "w2", "c"], outputs: ["y2"], attributes: { transB: 1, alpha: 0.5, beta: 1.5 } },
    ],
  });
  return { onnx: onnxBytes, w1, w2, bias };
}

async function run(model: Uint8Array, x: Float32Array, rows: number): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(model);
  try {
    const out = await session.run({ x: new ort.Tensor("float32", x, [rows, K]) });
    return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, t.data as Float32Array]));
  } finally {
    await session.release();
  }
}

describe("int8 dynamic quantization", () => {
  test("MatMul and Gemm weights become MatMulInteger over int8 initializers; the float weights are gone", () => {
    const { onnx: float } = twoProductModel();
    const result = quantizeDynamicInt8(float);
    const graph = onnx.ModelProto.decode(result.model).graph!;
    const ops = graph.node!.map((n) => n.opType);
    assert.equal(ops.filter((op) => op === "MatMulInteger").length, 2);
    assert.equal(ops.filter((op) => op === "DynamicQuantizeLinear").length, 1, "both products share the one activation quantization");
    assert.ok(!ops.includes("MatMul") && !ops.includes("Gemm"));
    const types = new Map(graph.initializer!.map((t) => [t.name, t.dataType]));
    assert.equal(types.get("w1_quantized"), onnx.TensorProto.DataType.INT8);
    assert.equal(types.get("w2_quantized"), onnx.TensorProto.DataType.INT8);
    assert.ok(!types.has("w1") && !types.has("w2"), "no float copy of a quantized weight is left");
    assert.equal(types.get("c"), onnx.TensorProto.DataType.FLOAT, "the bias stays float");
    assert.deepEqual(
      result.weights.map((w) => [w.name, w.rows, w.columns]),
      [
        ["w1", K, N],
        ["w2", K, N],
      ],
    );
    assert.ok(result.bytesAfter < result.bytesBefore);
  });

  test("outputs stay within the worst-case rounding error of the float model on seeded inputs", async () => {
    const model = twoProductModel();
    const x = seededUniform(M * K, 7, 2);
    const float = await run(model.onnx, x, M);
    const int8 = await run(quantizeDynamicInt8(model.onnx).model, x, M);
    // The activation is quantized over the whole batch: scale (max(x, 0) - min(x, 0)) / 255,
    // each value off by at most one step (half a step from rounding, up to one more where the
    // rounded zero point pushes the largest value into saturation). Each weight is off by at most
    // half its column's scale. So |x.w - xq.wq| <= sum_k |x_k| sw/2 + |w_k| sa + sa sw/2, the
    // bound checked per output, plus float32 accumulation slack.
    const sa = (Math.max(0, ...x) - Math.min(0, ...x)) / 255;
    const w2Columns = Float32Array.from({ length: K * N }, (_, i) => model.w2[(i % N) * K + Math.floor(i / N)]!);
    const check = (name: string, weights: Float32Array, factor: number): number => {
      const { scales } = quantizePerColumn(weights, K, N);
      let largest = 0;
      for (let r = 0; r < M; r++) {
        for (let n = 0; n < N; n++) {
          let bound = 0;
          let magnitude = 0;
          for (let k = 0; k < K; k++) {
            const [xv, wv] = [Math.abs(x[r * K + k]!), Math.abs(weights[k * N + n]!)];
            bound += (xv * scales[n]!) / 2 + wv * sa + (sa * scales[n]!) / 2;
            magnitude += xv * wv;
          }
          const diff = Math.abs(float[name]![r * N + n]! - int8[name]![r * N + n]!);
          largest = Math.max(largest, factor * bound);
          assert.ok(diff <= factor * bound + 1e-5 * factor * magnitude + 1e-6, `${name}[${r},${n}]: off by ${diff}, bound ${factor * bound}`);
        }
      }
      return largest;
    };
    const largestBound = Math.max(check("y1", model.w1, 1), check("y2", w2Columns, 0.5));
    // A bound that tight would catch a graph that lost alpha (halving or doubling every output).
    const largestOutput = Math.max(...float.y1!.map(Math.abs), ...float.y2!.map(Math.abs));
    assert.ok(largestBound < 0.1 * largestOutput, `bound ${largestBound} against outputs up to ${largestOutput}`);
  });

  test("an all-zero batch (a scale of zero at run time) gives the bias alone, not NaN", async () => {
    const model = twoProductModel();
    const out = await run(quantizeDynamicInt8(model.onnx).model, new Float32Array(2 * K), 2);
    assert.deepEqual(Array.from(out.y1!), new Array(2 * N).fill(0));
    assert.deepEqual(
      Array.from(out.y2!),
      [...model.bias, ...model.bias].map((b) => Math.fround(1.5 * b)),
    );
  });

  test("per-column scales and int8 values equal numpy's on a seeded weight matrix", () => {
    const [rows, columns] = [37, 9];
    const weights = seededUniform(rows * columns, 21, 3);
    // A column of zeros (scale falls back to 1) and exact halves (round half to even) as edge cases.
    for (let r = 0; r < rows; r++) weights[r * columns + 4] = 0;
    weights[0] = 127;
    weights[columns] = 0.5;
    weights[2 * columns] = 1.5;
    weights[3 * columns] = -2.5;
    const ours = quantizePerColumn(weights, rows, columns);
    const numpy = JSON.parse(
      execFileSync("/usr/bin/python3", [REFERENCE], {
        input: JSON.stringify({ task: "quantize", rows, columns, weights: Array.from(weights) }),
        encoding: "utf8",
      }),
    ) as { scales: number[]; values: number[] };
    assert.deepEqual(Array.from(ours.scales), numpy.scales);
    assert.deepEqual(Array.from(ours.values), numpy.values);
    assert.deepEqual([ours.values[columns], ours.values[2 * columns], ours.values[3 * columns]], [0, 2, -2], "halves round to even");
    assert.equal(ours.scales[4], 1);
  });

  test("a weight another node also reads keeps its float initializer beside the int8 one", () => {
    const onnxBytes = buildOnnxModel({
      name: "shared",
      inputs: [{ name: "x", type: OnnxType.FLOAT, dims: [-1, 4] }],
      outputs: [
        { name: "y", type: OnnxType.FLOAT, dims: [-1, 4] },
        { name: "w_twice", type: OnnxType.FLOAT, dims: [4, 4] },
      ],
      initializers: [{ name: "w", type: OnnxType.FLOAT, dims: [4, 4], values: seededUniform(16, 9) }],
      nodes: [
        { op: "MatMul", inputs: ["x", "w"], outputs: ["y"] },
        { op: "Add", inputs: ["w", "w"], outputs: ["w_twice"] },
      ],
    });
    const names = onnx.ModelProto.decode(quantizeDynamicInt8(onnxBytes).model).graph!.initializer!.map((t) => t.name);
    assert.deepEqual(names.sort(), ["matmul_0_weight_scale", "w", "w_quantized"].sort());
  });

  test("a model with nothing to quantize, or too old an opset, is refused with the reason", () => {
    const elementwise = buildOnnxModel({
      name: "elementwise",
      inputs: [{ name: "x", type: OnnxType.FLOAT, dims: [-1, 3] }],
      outputs: [{ name: "y", type: OnnxType.FLOAT, dims: [-1, 3] }],
      initializers: [{ name: "s", type: OnnxType.FLOAT, dims: [3], values: [1, 2, 3] }],
      nodes: [{ op: "Mul", inputs: ["x", "s"], outputs: ["y"] }],
    });
    assert.throws(
      () => quantizeDynamicInt8(elementwise),
      (e: Error) => e instanceof NothingToQuantizeError && /no MatMul or Gemm/.test(e.message),
    );
    assert.throws(() => quantizeDynamicInt8(twoProductModel(10).onnx), /opset 10; int8 operators \(DynamicQuantizeLinear\) need opset 11/);
  });
});

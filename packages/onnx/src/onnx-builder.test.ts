import assert from "node:assert/strict";
import { test } from "node:test";
import * as ort from "onnxruntime-node";
import { OnnxType, buildOnnxModel } from "./index.js";

test("a whole-number FLOAT attribute given as { float } reaches onnxruntime as a float (Gemm's beta = 2 doubles the bias)", async () => {
  const gemm = (beta: number | { float: number }) =>
    buildOnnxModel({
      name: "gemm",
      inputs: [{ name: "x", type: OnnxType.FLOAT, dims: [1, 2] }],
      outputs: [{ name: "y", type: OnnxType.FLOAT, dims: [1, 2] }],
      nodes: [{ op: "Gemm", inputs: ["x", "w", "c"], outputs: ["y"], attributes: { beta } }],
      initializers: [
        { name: "w", type: OnnxType.FLOAT, dims: [2, 2], values: [1, 0, 0, 1] },
        { name: "c", type: OnnxType.FLOAT, dims: [2], values: [10, 20] },
      ],
    });
  const run = async (model: Uint8Array) => {
    const session = await ort.InferenceSession.create(model);
    try {
      const out = await session.run({ x: new ort.Tensor("float32", Float32Array.from([1, 2]), [1, 2]) });
      return Array.from(out.y!.data as Float32Array);
    } finally {
      await session.release();
    }
  };
  assert.deepEqual(await run(gemm({ float: 2 })), [21, 42]);
  assert.deepEqual(await run(gemm(2.5)), [26, 52]);
});

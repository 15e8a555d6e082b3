import { OnnxType, buildOnnxModel, seededUniform } from "@vigil/onnx";

/** Layer widths of the benchmark MLP: 2.4M parameters, about 4.8 MFLOP a row. */
export const MLP_LAYERS = [256, 1024, 1024, 1024, 16] as const;

/** A 256 → 1024 → 1024 → 1024 → 16 ReLU MLP with seeded weights (MatMul + Add per layer): x [batch, 256] → y [batch, 16]. */
export function mlpOnnx(): Uint8Array {
  const nodes: Array<{ op: string; inputs: string[]; outputs: string[] }> = [];
  const initializers = [];
  let current = "x";
  for (let i = 0; i < MLP_LAYERS.length - 1; i++) {
    const [fanIn, fanOut] = [MLP_LAYERS[i]!, MLP_LAYERS[i + 1]!];
    initializers.push({ name: `w${i}`, type: OnnxType.FLOAT, dims: [fanIn, fanOut], values: seededUniform(fanIn * fanOut, 11 + i, Math.sqrt(6 / fanIn)) });
    initializers.push({ name: `b${i}`, type: OnnxType.FLOAT, dims: [fanOut], values: seededUniform(fanOut, 101 + i, 0.01) });
    const last = i === MLP_LAYERS.length - 2;
    nodes.push({ op: "MatMul", inputs: [current, `w${i}`], outputs: [`m${i}`] });
    nodes.push({ op: "Add", inputs: [`m${i}`, `b${i}`], outputs: [last ? "y" : `a${i}`] });
    if (!last) nodes.push({ op: "Relu", inputs: [`a${i}`], outputs: [`h${i}`] });
    current = `h${i}`;
  }
  return buildOnnxModel({
    name: "mlp",
    inputs: [{ name: "x", type: OnnxType.FLOAT, dims: [-1, MLP_LAYERS[0]] }],
    outputs: [{ name: "y", type: OnnxType.FLOAT, dims: [-1, MLP_LAYERS.at(-1)!] }],
    nodes,
    initializers,
  });
}

/** Seeded request rows for the MLP, values in [-1, 1). */
export const mlpRows = (count: number): Float32Array[] => Array.from({ length: count }, (_, i) => seededUniform(MLP_LAYERS[0], 1000 + i, 1));

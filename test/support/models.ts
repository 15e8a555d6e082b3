import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME, OnnxType, buildOnnxModel, type OnnxGraphSpec } from "@vigil/demo-model";

/** A throwaway model repository under the OS temp directory. */
export async function tempRepository(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "vigil-models-"));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Copies the demo model produced by the build (`pnpm build`) into a repository. */
export async function addDemoModel(repository: string): Promise<void> {
  const source = join(DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME);
  if (!existsSync(join(source, "1", "model.onnx"))) throw new Error(`demo model missing at ${source}: run the build first (npm test does)`);
  await cp(source, join(repository, DEMO_MODEL_NAME), { recursive: true });
}

export async function writeModel(repository: string, name: string, version: number, onnx: Uint8Array, config: object): Promise<void> {
  const dir = join(repository, name);
  await mkdir(join(dir, String(version)), { recursive: true });
  await writeFile(join(dir, String(version), "model.onnx"), onnx);
  await writeFile(join(dir, String(version), "model.onnx.sha256"), createHash("sha256").update(onnx).digest("hex"));
  await writeFile(join(dir, "config.json"), JSON.stringify(config, null, 2));
}

/**
 * "typed": two inputs of different datatypes so validation and batching see more than one tensor.
 * x FP32 [-1,3] -> x_scaled = x * scale;  k INT64 [-1,2] -> k_next = k + 1.
 */
export function typedModelOnnx(scale = 2): Uint8Array {
  const spec: OnnxGraphSpec = {
    name: "typed",
    inputs: [
      { name: "x", type: OnnxType.FLOAT, dims: [-1, 3] },
      { name: "k", type: OnnxType.INT64, dims: [-1, 2] },
    ],
    outputs: [
      { name: "x_scaled", type: OnnxType.FLOAT, dims: [-1, 3] },
      { name: "k_next", type: OnnxType.INT64, dims: [-1, 2] },
    ],
    initializers: [
      { name: "scale", type: OnnxType.FLOAT, dims: [], values: [scale] },
      { name: "one", type: OnnxType.INT64, dims: [], values: [1] },
    ],
    nodes: [
      { op: "Mul", inputs: ["x", "scale"], outputs: ["x_scaled"] },
      { op: "Add", inputs: ["k", "one"], outputs: ["k_next"] },
    ],
  };
  return buildOnnxModel(spec);
}

export function typedModelConfig(overrides: Record<string, unknown> = {}) {
  return {
    max_batch_size: 8,
    inputs: [
      { name: "x", datatype: "FP32", dims: [3] },
      { name: "k", datatype: "INT64", dims: [2] },
    ],
    outputs: [
      { name: "x_scaled", datatype: "FP32", dims: [3] },
      { name: "k_next", datatype: "INT64", dims: [2] },
    ],
    execution: { providers: ["cpu"] },
    ...overrides,
  };
}

/** "text": BYTES in, the same strings out, to exercise string tensors both ways. */
export function textModelOnnx(): Uint8Array {
  return buildOnnxModel({
    name: "text",
    inputs: [{ name: "text", type: OnnxType.STRING, dims: [-1, 1] }],
    outputs: [{ name: "echo", type: OnnxType.STRING, dims: [-1, 1] }],
    nodes: [{ op: "Identity", inputs: ["text"], outputs: ["echo"] }],
  });
}

export const textModelConfig = {
  max_batch_size: 4,
  inputs: [{ name: "text", datatype: "BYTES", dims: [1] }],
  outputs: [{ name: "echo", datatype: "BYTES", dims: [1] }],
  execution: { providers: ["cpu"] },
};

/** "fixed": no batch dimension at all (max_batch_size 0), FP64 [4] -> negated. */
export function fixedModelOnnx(): Uint8Array {
  return buildOnnxModel({
    name: "fixed",
    inputs: [{ name: "v", type: OnnxType.DOUBLE, dims: [4] }],
    outputs: [{ name: "v_neg", type: OnnxType.DOUBLE, dims: [4] }],
    nodes: [{ op: "Neg", inputs: ["v"], outputs: ["v_neg"] }],
  });
}

export const fixedModelConfig = {
  max_batch_size: 0,
  inputs: [{ name: "v", datatype: "FP64", dims: [4] }],
  outputs: [{ name: "v_neg", datatype: "FP64", dims: [4] }],
  execution: { providers: ["cpu"] },
};

import { DataType, type ModelConfig as TritonModelConfig, ModelInstanceGroup_Kind, type ModelVersionPolicy } from "@vigil/proto";
import { formatZodIssues } from "@vigil/config";
import { type Datatype, MODEL_FILE, type ModelConfig, type TensorSpec } from "@vigil/model-repository";
import { z } from "zod";
import type { ModelVersion } from "./model-version.js";

/** Triton's platform and backend names for ONNX models served by onnxruntime. */
export const TRITON_ONNX_PLATFORM = "onnxruntime_onnx";
export const TRITON_ONNX_BACKEND = "onnxruntime";

/** Open Inference Protocol datatype -> Triton's model-config enum (BYTES is TYPE_STRING there). */
const TRITON_DATATYPES: Record<Datatype, DataType> = {
  BOOL: DataType.TYPE_BOOL,
  UINT8: DataType.TYPE_UINT8,
  UINT16: DataType.TYPE_UINT16,
  UINT32: DataType.TYPE_UINT32,
  UINT64: DataType.TYPE_UINT64,
  INT8: DataType.TYPE_INT8,
  INT16: DataType.TYPE_INT16,
  INT32: DataType.TYPE_INT32,
  INT64: DataType.TYPE_INT64,
  FP16: DataType.TYPE_FP16,
  FP32: DataType.TYPE_FP32,
  FP64: DataType.TYPE_FP64,
  BYTES: DataType.TYPE_STRING,
};
const DATATYPES_BY_TRITON_NAME = new Map(Object.entries(TRITON_DATATYPES).map(([datatype, triton]) => [DataType[triton], datatype as Datatype]));

function versionPolicyOf(policy: ModelConfig["version_policy"]): ModelVersionPolicy {
  if ("latest" in policy) return { latest: { numVersions: policy.latest } };
  if ("all" in policy) return { all: {} };
  return { specific: { versions: policy.specific.map(BigInt) } };
}

/**
 * A loaded version's configuration in the shape of Triton's ModelConfig. Dims leave out the batch
 * dimension when max_batch_size > 0, as Triton's do (config.json uses the same convention).
 */
export function tritonModelConfig(model: ModelVersion): TritonModelConfig {
  const config = model.config;
  const tensor = (spec: TensorSpec) => ({ name: spec.name, dataType: TRITON_DATATYPES[spec.datatype], dims: spec.dims.map(BigInt) });
  const onGpu = model.provider.provider === "cuda";
  const batching = config.dynamic_batching;
  return {
    name: model.name,
    platform: TRITON_ONNX_PLATFORM,
    backend: TRITON_ONNX_BACKEND,
    versionPolicy: versionPolicyOf(config.version_policy),
    maxBatchSize: config.max_batch_size,
    input: config.inputs.map(tensor),
    output: config.outputs.map(tensor),
    dynamicBatching: batching && {
      preferredBatchSize: batching.preferred_batch_sizes,
      maxQueueDelayMicroseconds: BigInt(batching.max_queue_delay_us),
      defaultQueuePolicy: { maxQueueSize: config.max_queue_size },
    },
    instanceGroup: [
      {
        name: model.name,
        count: config.execution.instances,
        gpus: onGpu ? [config.execution.cuda_device_id] : [],
        kind: onGpu ? ModelInstanceGroup_Kind.KIND_GPU : ModelInstanceGroup_Kind.KIND_CPU,
      },
    ],
    defaultModelFilename: MODEL_FILE,
  };
}

/** An integer as protobuf's JSON form writes it: 64-bit integers travel as decimal strings. */
const integer = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^-?\d+$/, "must be an integer")
    .transform(Number),
]);
const tritonTensor = z.strictObject({
  name: z.string().min(1),
  data_type: z
    .string()
    .refine((name) => DATATYPES_BY_TRITON_NAME.has(name), "must be a Triton data type Vigil serves (TYPE_FP32, TYPE_INT64, TYPE_STRING, ...)"),
  dims: z.array(integer),
});

/**
 * The fields of Triton's ModelConfig that a RepositoryModelLoad `config` override may set, each
 * mapped onto config.json below. Any other field is refused by name: silently dropping a setting
 * the caller asked for would load a model that is not the one they configured.
 */
const tritonConfigOverride = z.strictObject({
  name: z.string().optional(),
  platform: z.literal(TRITON_ONNX_PLATFORM).optional(),
  backend: z.literal(TRITON_ONNX_BACKEND).optional(),
  max_batch_size: integer.optional(),
  version_policy: z
    .union([
      z.strictObject({ latest: z.strictObject({ num_versions: integer.optional() }) }),
      z.strictObject({ all: z.strictObject({}) }),
      z.strictObject({ specific: z.strictObject({ versions: z.array(integer) }) }),
    ])
    .optional(),
  input: z.array(tritonTensor).optional(),
  output: z.array(tritonTensor).optional(),
  dynamic_batching: z
    .strictObject({
      preferred_batch_size: z.array(integer).optional(),
      max_queue_delay_microseconds: integer.optional(),
      default_queue_policy: z.strictObject({ max_queue_size: integer.optional() }).optional(),
    })
    .optional(),
  instance_group: z
    .array(
      z.strictObject({
        name: z.string().optional(),
        kind: z.enum(["KIND_AUTO", "KIND_CPU", "KIND_GPU"]).optional(),
        count: integer.optional(),
        gpus: z.array(integer).optional(),
      }),
    )
    .optional(),
  default_model_filename: z.literal(MODEL_FILE).optional(),
  /**
   * Vigil's own field, not Triton's: config.json's rollout policy, in config.json's form, which
   * replaces the file's whole (null removes it). Checked with the rest of config.json at load.
   */
  rollout: z.union([z.record(z.string(), z.unknown()), z.null()]).optional(),
});

/** protobuf's JSON form accepts lowerCamelCase field names beside the proto's snake_case ones. */
function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeCaseKeys(inner)]));
}

/**
 * Translates the JSON ModelConfig of a RepositoryModelLoad `config` parameter into config.json
 * fields that replace the file's for that load. Fields the override leaves out keep config.json's
 * values (classes and monitored features have no Triton counterpart). Throws, naming the field,
 * for anything that cannot be honoured.
 */
export function configOverrideFields(model: string, json: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`the "config" parameter is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = tritonConfigOverride.safeParse(snakeCaseKeys(raw));
  if (!parsed.success) throw new Error(formatZodIssues('the "config" parameter (Triton ModelConfig JSON)', parsed.error));
  const override = parsed.data;
  if (override.name !== undefined && override.name !== model) {
    throw new Error(`the "config" parameter names model "${override.name}" but the load is for "${model}"`);
  }
  const fields: Record<string, unknown> = {};
  if (override.max_batch_size !== undefined) fields.max_batch_size = override.max_batch_size;
  const policy = override.version_policy;
  if (policy) {
    if ("latest" in policy) fields.version_policy = { latest: policy.latest.num_versions ?? 1 };
    else if ("all" in policy) fields.version_policy = { all: true };
    else fields.version_policy = { specific: policy.specific.versions };
  }
  const tensor = (t: z.infer<typeof tritonTensor>) => ({ name: t.name, datatype: DATATYPES_BY_TRITON_NAME.get(t.data_type), dims: t.dims });
  if (override.input) fields.inputs = override.input.map(tensor);
  if (override.output) fields.outputs = override.output.map(tensor);
  const batching = override.dynamic_batching;
  if (batching) {
    // Triton reads an absent delay as 0: a batch forms from whatever is queued, without waiting.
    fields.dynamic_batching = { max_queue_delay_us: batching.max_queue_delay_microseconds ?? 0, preferred_batch_sizes: batching.preferred_batch_size ?? [] };
    const queue = batching.default_queue_policy?.max_queue_size;
    if (queue !== undefined && queue > 0) fields.max_queue_size = queue;
  }
  if (override.instance_group) fields.execution = executionOf(override.instance_group);
  if (override.rollout !== undefined) fields.rollout = override.rollout;
  return fields;
}

type InstanceGroups = NonNullable<z.infer<typeof tritonConfigOverride>["instance_group"]>;

/** Instance groups as config.json's execution settings: one kind of device, instances summed. */
function executionOf(groups: InstanceGroups): Record<string, unknown> {
  const kinds = new Set(groups.map((g) => g.kind ?? "KIND_AUTO"));
  if (kinds.size > 1)
    throw new Error(`the "config" parameter mixes instance_group kinds (${[...kinds].join(", ")}); Vigil runs a model version on one kind of device`);
  const execution: Record<string, unknown> = { instances: groups.reduce((sum, g) => sum + (g.count ?? 1), 0) };
  const kind = [...kinds][0];
  if (kind === "KIND_CPU") execution.providers = ["cpu"];
  if (kind === "KIND_GPU") {
    const gpus = [...new Set(groups.flatMap((g) => g.gpus ?? []))];
    if (gpus.length > 1) throw new Error(`the "config" parameter places instances on GPUs ${gpus.join(", ")}; Vigil runs a model version on one GPU`);
    execution.providers = ["cuda"];
    if (gpus.length === 1) execution.cuda_device_id = gpus[0];
  }
  return execution;
}

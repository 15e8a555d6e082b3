import { createHash } from "node:crypto";
import { z } from "zod";
import { formatZodIssues, readJsonObject } from "@vigil/config";
import { DATATYPES } from "./datatypes.js";

const positiveInt = z.number().int().positive();
const classNames = z.array(z.string().min(1));

const tensorSpec = z.strictObject({
  name: z.string().min(1),
  datatype: z.enum(DATATYPES),
  /** Dimensions after the batch dimension when max_batch_size > 0 (Triton's convention); -1 is variable. */
  dims: z.array(z.number().int().min(-1)),
});

const monitoredFeature = z.strictObject({
  name: z.string().min(1),
  /** The input tensor holding this feature, and its column in the last dimension. */
  input: z.string().min(1),
  column: z.number().int().min(0),
  kind: z.enum(["numerical", "categorical"]),
  /** For categorical features: the meaning of each integer code, code i -> categories[i]. */
  categories: z.array(z.string()).optional(),
});

const versionPolicy = z.union([
  z.strictObject({ latest: positiveInt }),
  z.strictObject({ all: z.literal(true) }),
  z.strictObject({ specific: z.array(positiveInt).min(1) }),
]);

export const EXECUTION_PROVIDERS = ["cuda", "cpu"] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

const execution = z.strictObject({
  /** Tried in order; a provider that fails to initialise is logged and the next one is used. */
  providers: z.array(z.enum(EXECUTION_PROVIDERS)).min(1).default(["cuda", "cpu"]),
  cuda_device_id: z.number().int().min(0).default(0),
  intra_op_threads: z.number().int().min(0).default(0),
  inter_op_threads: z.number().int().min(0).default(0),
  graph_optimization_level: z.enum(["disabled", "basic", "extended", "all"]).default("all"),
  /** How many batches may run at once on this version (Triton's instance count). */
  instances: positiveInt.default(1),
});

const MAX_QUEUE_DELAY_US = 60_000_000;

/**
 * How a batch is formed. `eager`: a request that finds an instance free runs at once, taking along
 * whatever arrived in the same event-loop turn; requests that arrive while every instance is busy
 * leave together as the next batch the moment one frees; max_queue_delay_us only caps how long a
 * batch keeps gathering a burst. `window` (Triton's dynamic batcher): the oldest request always
 * waits up to max_queue_delay_us for company unless a preferred or the largest size fills first.
 */
export const BATCHING_MODES = ["eager", "window"] as const;
export type BatchingMode = (typeof BATCHING_MODES)[number];

const dynamicBatching = z.strictObject({
  mode: z.enum(BATCHING_MODES).default("eager"),
  /** Capped at a minute: longer is no batching delay, and past 2^31 ms Node's timers misfire. */
  max_queue_delay_us: z.number().int().min(0).max(MAX_QUEUE_DELAY_US).default(500),
  preferred_batch_sizes: z.array(positiveInt).default([]),
});

export const ROLLOUT_MODES = ["shadow", "canary"] as const;

/**
 * A candidate version served beside the primary one. Requests that name a version get exactly
 * that version; only requests without one follow the policy.
 * - shadow: a share of requests also runs on the candidate, after and apart from the primary;
 *   the client gets the primary's answer, the candidate's goes to the prediction log (role shadow).
 * - canary: a share of requests is answered by the candidate (role canary), at random or sticky
 *   per client or per value of a request parameter.
 */
export const rolloutPolicySchema = z.strictObject({
  mode: z.enum(ROLLOUT_MODES),
  candidate: positiveInt,
  /** The version clients get otherwise; by default the highest loaded version other than the candidate. */
  primary: positiveInt.optional(),
  /** Shadow: the share of requests also run on the candidate. */
  shadow_share: z.number().gt(0).max(1).default(1),
  /** Shadow: requests waiting for the candidate beyond this many are not shadowed (and counted), so a slow candidate builds no backlog. */
  shadow_max_queue: positiveInt.default(256),
  /** Canary: the share of requests the candidate answers. */
  canary_weight: z.number().min(0).max(1).default(0.1),
  /** Canary: keep each client, or each value of a request parameter, on one version; at random per request when absent. */
  sticky: z.union([z.literal("client"), z.strictObject({ parameter: z.string().min(1) })]).optional(),
  /** Take a canary out of traffic when the monitor judges it worse or its SLOs burn. */
  auto_rollback: z.boolean().default(true),
  /** Chance of a wrong verdict over the whole rollout, however often it is checked. */
  significance: z.number().gt(0).lt(0.5).default(0.05),
});

export const modelConfigSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    max_batch_size: z.number().int().min(0).default(0),
    inputs: z.array(tensorSpec).min(1),
    outputs: z.array(tensorSpec).min(1),
    dynamic_batching: dynamicBatching.optional(),
    /** Requests allowed to wait for execution before new ones get RESOURCE_EXHAUSTED. */
    max_queue_size: positiveInt.default(1024),
    /** Class names, one per score of the first output, in score order (what a prediction is reported as). */
    classes: classNames.optional(),
    /** Deprecated name of `classes`; parsing maps it over (see parseModelConfig). */
    labels: classNames.optional(),
    monitored_features: z.array(monitoredFeature).default([]),
    version_policy: versionPolicy.default({ latest: 1 }),
    execution: execution.default(() => execution.parse({})),
    rollout: rolloutPolicySchema.optional(),
  })
  .superRefine((config, ctx) => {
    const unique = (kind: "inputs" | "outputs") => {
      const seen = new Set<string>();
      config[kind].forEach((t, i) => {
        if (seen.has(t.name)) ctx.addIssue({ code: "custom", path: [kind, i, "name"], message: `duplicate ${kind.slice(0, -1)} name "${t.name}"` });
        seen.add(t.name);
      });
    };
    unique("inputs");
    unique("outputs");
    if (config.dynamic_batching && config.max_batch_size === 0) {
      ctx.addIssue({ code: "custom", path: ["dynamic_batching"], message: "dynamic batching needs max_batch_size > 0" });
    }
    config.dynamic_batching?.preferred_batch_sizes.forEach((size, i) => {
      if (size > config.max_batch_size) {
        ctx.addIssue({
          code: "custom",
          path: ["dynamic_batching", "preferred_batch_sizes", i],
          message: `${size} exceeds max_batch_size ${config.max_batch_size}`,
        });
      }
    });
    config.monitored_features.forEach((feature, i) => {
      const input = config.inputs.find((t) => t.name === feature.input);
      if (!input) {
        ctx.addIssue({ code: "custom", path: ["monitored_features", i, "input"], message: `no input named "${feature.input}"` });
        return;
      }
      const width = input.dims.at(-1);
      if (width !== undefined && width >= 0 && feature.column >= width) {
        ctx.addIssue({
          code: "custom",
          path: ["monitored_features", i, "column"],
          message: `column ${feature.column} is outside input "${input.name}" of width ${width}`,
        });
      }
      if (feature.kind === "categorical" && !feature.categories?.length) {
        ctx.addIssue({ code: "custom", path: ["monitored_features", i, "categories"], message: "a categorical feature needs its categories" });
      }
    });
    if (config.rollout && config.rollout.primary === config.rollout.candidate) {
      ctx.addIssue({
        code: "custom",
        path: ["rollout", "candidate"],
        message: `the candidate (${config.rollout.candidate}) must differ from the primary version`,
      });
    }
    if (config.classes && config.labels) {
      ctx.addIssue({ code: "custom", path: ["labels"], message: 'give "classes" only; "labels" is its deprecated name' });
    }
    const field = config.labels && !config.classes ? "labels" : "classes";
    const names = config[field];
    const first = config.outputs[0];
    const width = first?.dims.at(-1);
    if (names && width !== undefined && width >= 0 && width !== names.length) {
      ctx.addIssue({ code: "custom", path: [field], message: `${names.length} class names for output "${first?.name}" with ${width} classes` });
    }
  })
  .transform(({ labels, ...config }) => ({ ...config, classes: config.classes ?? labels }));

export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type TensorSpec = z.infer<typeof tensorSpec>;
export type MonitoredFeature = z.infer<typeof monitoredFeature>;
export type RolloutPolicy = z.infer<typeof rolloutPolicySchema>;

/** JSON with object keys sorted, so equal settings give equal text whatever order the file wrote them in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * The name of one rollout policy: a hash of its settings (defaults filled in), the same in the
 * server, the monitor and the CLI. A rollback applies to the policy it judged; changing any
 * setting starts a new policy, judged from scratch.
 */
export function rolloutPolicyId(model: string, policy: RolloutPolicy): string {
  return createHash("sha256")
    .update(`${model}\n${canonicalJson(policy)}`)
    .digest("hex")
    .slice(0, 16);
}

/** The full shape a request must match: the batch dimension (-1) first when the model batches. */
export function fullShape(config: ModelConfig, spec: TensorSpec): number[] {
  return config.max_batch_size > 0 ? [-1, ...spec.dims] : [...spec.dims];
}

/** Receives what a config still accepts but should change (deprecated field names). */
export type ConfigWarning = (message: string) => void;

const usesDeprecatedLabels = (raw: unknown) => typeof raw === "object" && raw !== null && "labels" in raw && !("classes" in raw);

export function parseModelConfig(source: string, raw: unknown, onWarning: ConfigWarning = () => {}): ModelConfig {
  const result = modelConfigSchema.safeParse(raw);
  if (!result.success) throw new Error(formatZodIssues(source, result.error));
  if (usesDeprecatedLabels(raw)) onWarning(`${source}: "labels" is deprecated, rename it to "classes" (the class names)`);
  return result.data;
}

export function readModelConfig(path: string, onWarning?: ConfigWarning): ModelConfig {
  return parseModelConfig(path, readJsonObject(path, "model config"), onWarning);
}

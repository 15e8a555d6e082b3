import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import type { Logger } from "pino";
import { type Datatype, type ExecutionProvider, type ModelConfig, fullShape } from "@vigil/model-repository";
import { DATATYPE_INFO, datatypeFromOrt } from "./datatype-codecs.js";
import { type BatchingPolicy, type ExecutionTiming, type JobResult, Scheduler } from "./scheduler.js";
import { type HostTensor, type ModelSignature, formatShape, requestRows } from "./tensors.js";

export interface DurationStat {
  count: number;
  ns: number;
}

export interface BatchStat {
  computeInput: DurationStat;
  computeInfer: DurationStat;
  computeOutput: DurationStat;
}

/** Cumulative counters in the shape of Triton's ModelStatistics. */
export class VersionStatistics {
  lastInferenceMs = 0;
  inferenceCount = 0;
  executionCount = 0;
  readonly success: DurationStat = { count: 0, ns: 0 };
  readonly fail: DurationStat = { count: 0, ns: 0 };
  readonly queue: DurationStat = { count: 0, ns: 0 };
  readonly computeInput: DurationStat = { count: 0, ns: 0 };
  readonly computeInfer: DurationStat = { count: 0, ns: 0 };
  readonly computeOutput: DurationStat = { count: 0, ns: 0 };
  readonly batches = new Map<number, BatchStat>();

  recordExecution(rows: number, timing: ExecutionTiming): void {
    this.executionCount++;
    let stat = this.batches.get(rows);
    if (!stat) {
      stat = { computeInput: { count: 0, ns: 0 }, computeInfer: { count: 0, ns: 0 }, computeOutput: { count: 0, ns: 0 } };
      this.batches.set(rows, stat);
    }
    add(stat.computeInput, timing.computeInputNs);
    add(stat.computeInfer, timing.computeInferNs);
    add(stat.computeOutput, timing.computeOutputNs);
  }

  recordSuccess(rows: number, totalNs: number, result: JobResult): void {
    this.lastInferenceMs = Date.now();
    this.inferenceCount += rows;
    add(this.success, totalNs);
    add(this.queue, result.queueNs);
    // Per-request share of the execution it rode in, as Triton reports compute per request.
    add(this.computeInput, result.timing.computeInputNs / result.executedRequests);
    add(this.computeInfer, result.timing.computeInferNs / result.executedRequests);
    add(this.computeOutput, result.timing.computeOutputNs / result.executedRequests);
  }

  recordFailure(totalNs: number): void {
    this.lastInferenceMs = Date.now();
    add(this.fail, totalNs);
  }
}

function add(stat: DurationStat, ns: number): void {
  stat.count++;
  stat.ns += Math.round(ns);
}

export interface ProviderChoice {
  provider: ExecutionProvider;
  /** Why preferred providers were skipped; empty when the first choice worked. */
  fallbacks: string[];
}

const now = () => process.hrtime.bigint();

/**
 * onnxruntime-node loads the CUDA provider from a library beside its binding, installed only
 * with ONNXRUNTIME_NODE_INSTALL=cuda12. Checking for it first gives a reason a person can act
 * on instead of onnxruntime's native load error.
 */
function cudaProviderMissing(): string | undefined {
  const binding = join(dirname(createRequire(import.meta.url).resolve("onnxruntime-node")), "..", "bin", "napi-v6", process.platform, process.arch);
  const library = join(binding, "libonnxruntime_providers_cuda.so");
  if (process.platform === "linux" && !existsSync(library)) {
    return `CUDA provider library not installed (${library}); install with ONNXRUNTIME_NODE_INSTALL=cuda12 on a host with CUDA 12`;
  }
  return undefined;
}

async function createSession(
  label: string,
  bytes: Uint8Array,
  config: ModelConfig,
  log: Logger,
): Promise<{ session: ort.InferenceSession; choice: ProviderChoice }> {
  const fallbacks: string[] = [];
  const exec = config.execution;
  for (const provider of exec.providers) {
    const missing = provider === "cuda" ? cudaProviderMissing() : undefined;
    if (missing) {
      fallbacks.push(`cuda: ${missing}`);
      log.warn({ model: label, provider, reason: missing }, `execution provider cuda unavailable for model ${label}`);
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: [provider === "cuda" ? { name: "cuda", deviceId: exec.cuda_device_id } : "cpu"],
        graphOptimizationLevel: exec.graph_optimization_level,
        intraOpNumThreads: exec.intra_op_threads,
        interOpNumThreads: exec.inter_op_threads,
        logSeverityLevel: 3,
      });
      if (fallbacks.length > 0) {
        log.warn({ model: label, provider, fallbacks }, `model ${label} runs on ${provider}: preferred execution providers failed`);
      }
      return { session, choice: { provider, fallbacks } };
    } catch (error) {
      const reason = `${provider}: ${(error as Error).message.split("\n")[0]}`;
      fallbacks.push(reason);
      log.warn({ model: label, provider, reason }, `execution provider ${provider} unavailable for model ${label}`);
    }
  }
  throw new Error(`no execution provider could load model ${label}: ${fallbacks.join("; ")}`);
}

/**
 * The model file must declare exactly the tensors the config promises, with matching types, ranks
 * and every dimension that both fix (a -1 in the config or a symbolic dimension in the file
 * matches anything): a mismatch found here is a FAILED_PRECONDITION at load, not an INTERNAL
 * error on every request later.
 */
function checkSignature(label: string, session: ort.InferenceSession, signature: ModelSignature): void {
  const problems: string[] = [];
  const compare = (kind: "input" | "output", declared: readonly ort.InferenceSession.ValueMetadata[], expected: ModelSignature["inputs"]) => {
    const byName = new Map(declared.map((d) => [d.name, d]));
    for (const spec of expected) {
      const found = byName.get(spec.name);
      if (!found) {
        problems.push(`config ${kind} "${spec.name}" is not in the model file (it has ${[...byName.keys()].join(", ")})`);
        continue;
      }
      if (!found.isTensor) {
        problems.push(`${kind} "${spec.name}" is not a tensor in the model file`);
        continue;
      }
      const datatype = datatypeFromOrt(found.type);
      if (datatype !== spec.datatype) problems.push(`${kind} "${spec.name}" is ${datatype ?? found.type} in the model file, ${spec.datatype} in config`);
      const fileShape = found.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1));
      if (found.shape.length > 0 && found.shape.length !== spec.shape.length) {
        problems.push(
          `${kind} "${spec.name}" has rank ${found.shape.length} in the model file ${formatShape(fileShape)}, config says ${formatShape(spec.shape)}`,
        );
      } else if (fileShape.some((d, i) => d >= 0 && spec.shape[i]! >= 0 && d !== spec.shape[i])) {
        problems.push(`${kind} "${spec.name}" has shape ${formatShape(fileShape)} in the model file, config says ${formatShape(spec.shape)}`);
      }
    }
    if (kind === "input") {
      for (const name of byName.keys()) if (!expected.some((s) => s.name === name)) problems.push(`model input "${name}" is missing from config`);
    }
  };
  compare("input", session.inputMetadata, signature.inputs);
  compare("output", session.outputMetadata, signature.outputs);
  if (problems.length > 0) throw new Error(`model ${label} does not match its config:\n  - ${problems.join("\n  - ")}`);
}

export function signatureOf(name: string, config: ModelConfig): ModelSignature {
  const tensor = (spec: ModelConfig["inputs"][number]) => ({ name: spec.name, datatype: spec.datatype as Datatype, shape: fullShape(config, spec) });
  return { name, maxBatchSize: config.max_batch_size, inputs: config.inputs.map(tensor), outputs: config.outputs.map(tensor) };
}

/** Told about every execution, for metrics. */
export type ExecutionListener = (version: ModelVersion, rows: number) => void;

/** One version of a model, loaded into onnxruntime with its own request queue and statistics. */
export class ModelVersion {
  readonly stats = new VersionStatistics();
  readonly scheduler: Scheduler;
  readonly signature: ModelSignature;

  private constructor(
    readonly name: string,
    readonly version: number,
    readonly config: ModelConfig,
    private readonly session: ort.InferenceSession,
    readonly provider: ProviderChoice,
    onExecution?: ExecutionListener,
  ) {
    this.signature = signatureOf(name, config);
    const batching = config.dynamic_batching;
    const policy: BatchingPolicy = {
      maxBatchSize: batching ? config.max_batch_size : 0,
      mode: batching?.mode ?? "eager",
      maxQueueDelayUs: batching?.max_queue_delay_us ?? 0,
      preferredBatchSizes: batching?.preferred_batch_sizes ?? [],
      maxQueueSize: config.max_queue_size,
      instances: config.execution.instances,
    };
    this.scheduler = new Scheduler(this.label, policy, (inputs) => this.execute(inputs), {
      onExecution: (rows, _requests, timing) => {
        this.stats.recordExecution(rows, timing);
        onExecution?.(this, rows);
      },
    });
  }

  static async load(
    name: string,
    version: number,
    config: ModelConfig,
    bytes: Uint8Array,
    log: Logger,
    onExecution?: ExecutionListener,
  ): Promise<ModelVersion> {
    const label = `${name}:${version}`;
    const { session, choice } = await createSession(label, bytes, config, log);
    try {
      checkSignature(label, session, signatureOf(name, config));
    } catch (error) {
      await session.release();
      throw error;
    }
    return new ModelVersion(name, version, config, session, choice, onExecution);
  }

  get label(): string {
    return `${this.name}:${this.version}`;
  }

  /** Queues the request and resolves with every model output for its rows. */
  infer(inputs: HostTensor[], signal?: AbortSignal): Promise<JobResult> {
    return this.scheduler.submit(inputs, signal);
  }

  async unload(): Promise<void> {
    await this.scheduler.drain();
    await this.session.release();
  }

  private async execute(inputs: HostTensor[]): Promise<{ outputs: HostTensor[]; timing: ExecutionTiming }> {
    const t0 = now();
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of inputs) {
      feeds[input.name] = new ort.Tensor(DATATYPE_INFO[input.datatype].ort, input.data as never, input.shape);
    }
    const t1 = now();
    const results = await this.session.run(feeds);
    const t2 = now();
    const rows = this.signature.maxBatchSize > 0 ? requestRows(this.signature, inputs) : undefined;
    const outputs = this.signature.outputs.map((spec) => {
      const tensor = results[spec.name];
      if (!tensor) throw new Error(`model ${this.label} produced no output "${spec.name}"`);
      const shape = tensor.dims.map(Number);
      if (rows !== undefined && shape[0] !== rows) {
        throw new Error(
          `model ${this.label} output "${spec.name}" has ${shape[0]} rows for a batch of ${rows}; batched models must keep the batch dimension first`,
        );
      }
      return { name: spec.name, datatype: spec.datatype, shape, data: tensor.data as HostTensor["data"] };
    });
    const t3 = now();
    return {
      outputs,
      timing: { computeInputNs: Number(t1 - t0), computeInferNs: Number(t2 - t1), computeOutputNs: Number(t3 - t2) },
    };
  }
}

import { randomUUID } from "node:crypto";
import { type Metadata, type ServerUnaryCall, type ServerDuplexStream, type handleUnaryCall, type sendUnaryData, status } from "@grpc/grpc-js";
import {
  type GRPCInferenceServiceServer,
  type ModelInferRequest,
  ModelInferResponse,
  ModelMetadataResponse,
  type ModelStatistics,
  ModelStatisticsResponse,
  type ModelStreamInferResponse,
  RepositoryIndexResponse,
  type StatisticDuration,
} from "@vigil/proto";
import { type Span, SpanStatusCode } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { BearerAuth } from "./auth.js";
import { InferenceError, type Redact, asInferenceError, deadlineExceeded } from "./errors.js";
import { STRING_LIMITS, checkInferStrings, checkModelRef, clip } from "./limits.js";
import type { ModelVersion } from "./model-version.js";
import type { ServerMetrics } from "./metrics.js";
import { type PredictionRecorder, type RequestFacts, answeredRows, recordedFeatureNames } from "./recorder.js";
import type { Tracing } from "./tracing.js";
import type { ModelRepository } from "./repository.js";
import type { RolloutRouter } from "./rollout-serving.js";
import type { ServerState } from "./server-state.js";
import type { WorkerHooks } from "./workers/hooks.js";
import { decodeInputs, encodeOutputs, selectOutputs } from "./tensors.js";
import { classifyOutputs } from "./classification.js";
import { tritonModelConfig } from "./model-config-rpc.js";
import { FINAL_RESPONSE_PARAMETER, checkRequestParameters, wantsFinalResponseFlag } from "./request-parameters.js";
import { loadOverrideFields, checkUnloadParameters } from "./repository-parameters.js";
import { SERVER_NAME, SERVER_VERSION } from "./version.js";

/** The model label of requests for models the repository does not hold. */
const UNKNOWN_MODEL_LABEL = "(unknown)";

export { SERVER_NAME, SERVER_VERSION } from "./version.js";
/** Triton extension names for what this server implements beyond the base protocol. */
export const SERVER_EXTENSIONS = ["classification", "model_configuration", "model_repository", "statistics"];
/** KServe's platform name for ONNX models. */
export const ONNX_PLATFORM = "onnx_onnxv1";

export interface ServiceContext {
  repository: ModelRepository;
  /** Picks the version of each request by its model's rollout policy and runs the shadows. */
  rollouts: RolloutRouter;
  auth: BearerAuth;
  state: ServerState;
  log: Logger;
  /** Absent when recording is off. */
  recorder?: PredictionRecorder;
  tracing?: Tracing;
  metrics?: ServerMetrics;
  /** Applied to every message a client receives (pathRedactor over the model repository). */
  redact: Redact;
  /** ModelStatistics over every worker of the pool; this server's own statistics when absent. */
  statistics?: WorkerHooks["statistics"];
  /** Load and unload applied on every worker of the pool; this server's repository when absent. */
  control?: WorkerHooks["control"];
}

const SERVICE = "inference.GRPCInferenceService";
/** How the model metadata, readiness and statistics requests name their model fields. */
const REF_FIELDS = { name: "name", version: "version" };

/** Opens the server span of one RPC (following the RPC semantic conventions) and returns how to close it. */
export function startRpc(
  ctx: ServiceContext,
  method: string,
  metadata: Metadata,
  startNs: bigint,
): { span: Span | undefined; finish: (code: status, message?: string) => void } {
  const span = ctx.tracing?.startServerSpan(`${SERVICE}/${method}`, ctx.tracing.extract(metadata), startNs);
  span?.setAttributes({ "rpc.system": "grpc", "rpc.service": SERVICE, "rpc.method": method });
  return {
    span,
    finish: (code, message) => {
      ctx.metrics?.observeRpc(method, status[code] ?? "UNKNOWN");
      if (!span) return;
      span.setAttributes({ "rpc.grpc.status_code": code, "vigil.grpc_status": status[code] ?? "UNKNOWN" });
      if (code !== status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message });
      span.end();
    },
  };
}

const now = () => process.hrtime.bigint();

/** The AbortSignal of one request: aborted when the client cancels or its deadline passes. */
function requestSignal(call: { getDeadline(): Date | number; on(event: "cancelled", listener: () => void): unknown }, label: string) {
  const controller = new AbortController();
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const expire = () => controller.abort(deadlineExceeded(`deadline passed before ${label} ran; the request was dropped`));
  if (Number.isFinite(deadlineMs)) {
    const remaining = deadlineMs - Date.now();
    if (remaining <= 0) expire();
    else timer = setTimeout(expire, remaining);
  }
  // grpc-js may report a call as cancelled after it has been answered; only an unanswered one matters.
  call.on("cancelled", () => {
    if (!finished) controller.abort();
  });
  return {
    signal: controller.signal,
    done: () => {
      finished = true;
      clearTimeout(timer);
    },
  };
}

/** Where a request came from and when it arrived. */
export interface RequestOrigin {
  client: string;
  arrivedUs: number;
  arrivedNs: bigint;
}

/** Peer addresses already turned into host names: every request of a connection asks again. */
const peerHosts = new Map<string, string>();
const MAX_PEER_HOSTS = 4096;

/** The peer's address without its scheme, port or IPv6 brackets. */
function peerHost(peer: string): string {
  let host = peerHosts.get(peer);
  if (host === undefined) {
    host = peer
      .replace(/^ipv[46]:/, "")
      .replace(/:\d+$/, "")
      .replace(/^\[|\]$/g, "");
    if (peerHosts.size >= MAX_PEER_HOSTS) peerHosts.clear();
    peerHosts.set(peer, host);
  }
  return host;
}

/** The client's name: `x-client-id` metadata when sent, else the peer's address without its port. */
export function originOf(call: { getPeer(): string; metadata: Metadata }): RequestOrigin {
  const named = call.metadata.get("x-client-id")[0];
  return {
    client: named ? String(named).slice(0, 64) : peerHost(call.getPeer()),
    arrivedUs: Date.now() * 1000,
    arrivedNs: now(),
  };
}

/**
 * Decodes, validates, queues, records and encodes one inference request; shared by unary and
 * streaming calls. Every outcome, answer or refusal, is in the prediction log before the reply.
 */
export async function infer(
  ctx: ServiceContext,
  request: ModelInferRequest,
  signal: AbortSignal,
  origin: RequestOrigin,
  span?: Span,
): Promise<ModelInferResponse> {
  const ids = span?.spanContext();
  // Clipped, so a request refused for an oversized id or name is logged and traced without it.
  const modelName = clip(request.modelName, STRING_LIMITS.modelName);
  const modelVersion = clip(request.modelVersion, STRING_LIMITS.modelVersion);
  const facts: RequestFacts = {
    requestId: clip(request.id, STRING_LIMITS.requestId) || randomUUID(),
    modelName,
    traceId: ids?.traceId ?? "",
    spanId: ids?.spanId ?? "",
    role: "primary",
    ...origin,
  };
  span?.setAttributes({ "vigil.request_id": facts.requestId, "vigil.model": modelName });
  let model: ModelVersion | undefined;
  let validateStart: bigint | undefined;
  let queuedAt: bigint | undefined;
  let inputCount = 0;
  try {
    checkInferStrings(request);
    checkRequestParameters(request.parameters);
    const route = ctx.rollouts.route(request.modelName, request.modelVersion, origin.client, request.parameters);
    model = route.model;
    facts.role = route.role;
    span?.setAttribute("vigil.model_version", String(model.version));
    if (signal.aborted) throw signal.reason instanceof InferenceError ? signal.reason : new InferenceError(status.CANCELLED, "request cancelled");
    validateStart = now();
    const inputs = decodeInputs(request, model.signature);
    inputCount = inputs.length;
    const wanted = selectOutputs(request, model.signature);
    queuedAt = now();
    const result = await model.infer(inputs, signal);
    const selected = wanted.map((name) => result.outputs.find((o) => o.name === name)!);
    const { outputs, rawOutputContents } = encodeOutputs(
      classifyOutputs(request.outputs, selected, model.signature.maxBatchSize > 0, model.signature.outputs[0]!.name, model.config.classes),
    );
    const t = result.timing;
    const computeNs = t.computeInputNs + t.computeInferNs + t.computeOutputNs;
    const { rows, nonFinite, nonFiniteRows } = answeredRows(model, inputs, result.outputs);
    if (nonFiniteRows > 0) {
      ctx.metrics?.observeNonFinite(model.name, String(model.version), nonFiniteRows);
      // Debug, not warn: a client sending NaN inputs could otherwise flood the log; the metric counts every row.
      ctx.log.debug(
        { request_id: facts.requestId, model: model.label, rows: nonFiniteRows, reason: nonFinite.find((r) => r !== "") },
        "model answered NaN or infinite values; the rows are logged as NON_FINITE_OUTPUT, outside quality and drift",
      );
    }
    const recordStart = now();
    await ctx.recorder?.success(facts, model, inputs, result.outputs, result, nonFinite);
    if (span && ctx.tracing!.sampled(span)) {
      const tracing = ctx.tracing!;
      tracing.childSpan(span, "validate", validateStart, queuedAt, { "vigil.inputs": inputCount });
      tracing.childSpan(span, "queue", queuedAt, result.dispatchedNs);
      tracing.childSpan(span, "execute", result.dispatchedNs, result.dispatchedNs + BigInt(Math.round(computeNs)), {
        "vigil.batch_size": result.executedBatchSize,
        "vigil.batch_requests": result.executedRequests,
        "vigil.execution_provider": model.provider.provider,
        "vigil.compute_infer_us": Math.round(t.computeInferNs / 1000),
      });
      if (ctx.recorder) tracing.childSpan(span, "record", recordStart, now());
    }
    const totalNs = Number(now() - origin.arrivedNs);
    model.stats.recordSuccess(rows, totalNs, result);
    ctx.metrics?.observeRequest(model.name, String(model.version), "OK", { total: totalNs / 1e9, queue: result.queueNs / 1e9, compute: computeNs / 1e9 });
    if (ctx.log.isLevelEnabled("debug")) {
      ctx.log.debug(
        {
          request_id: facts.requestId,
          trace_id: facts.traceId,
          model: model.label,
          rows,
          latency_us: Math.round(totalNs / 1000),
          batch: result.executedBatchSize,
        },
        "inference answered",
      );
    }
    const shadow = route.shadow;
    // Queued behind the reply, so the shadow cannot delay what the client waits for beyond sharing the CPU.
    if (shadow) setImmediate(() => ctx.rollouts.shadow(facts, shadow, inputs));
    return { modelName: model.name, modelVersion: String(model.version), id: facts.requestId, parameters: {}, outputs, rawOutputContents };
  } catch (error) {
    const failure = asInferenceError(error);
    // A failed request's trace is always kept: give it the validation it went through.
    if (span && validateStart !== undefined) ctx.tracing!.childSpan(span, "validate", validateStart, queuedAt ?? now(), { "vigil.inputs": inputCount });
    model?.stats.recordFailure(Number(now() - origin.arrivedNs));
    // Metric labels only ever hold names the repository knows: a client's made-up names would grow the series without bound.
    const known = model !== undefined || ctx.repository.state(modelName) !== undefined;
    ctx.metrics?.observeRequest(
      model?.name ?? (known ? modelName : UNKNOWN_MODEL_LABEL),
      model ? String(model.version) : "",
      status[failure.code] ?? "UNKNOWN",
    );
    const fields = { request_id: facts.requestId, trace_id: facts.traceId, model: model?.label ?? modelName, code: status[failure.code], err: failure.message };
    if (failure.code === status.INTERNAL) ctx.log.error(fields, "inference failed");
    else ctx.log.debug(fields, "inference refused");
    await ctx.recorder
      ?.failure(facts, failure, model, modelVersion)
      .catch((e: unknown) => ctx.log.error({ ...fields, recordError: (e as Error).message }, "a refused request could not be written to the prediction log"));
    throw failure;
  }
}

function duration(stat: { count: number; ns: number }): StatisticDuration {
  return { count: BigInt(stat.count), ns: BigInt(stat.ns) };
}

function statisticsOf(v: ModelVersion): ModelStatistics {
  const s = v.stats;
  const zero = { count: 0, ns: 0 };
  return {
    name: v.name,
    version: String(v.version),
    lastInference: BigInt(s.lastInferenceMs),
    inferenceCount: BigInt(s.inferenceCount),
    executionCount: BigInt(s.executionCount),
    inferenceStats: {
      success: duration(s.success),
      fail: duration(s.fail),
      queue: duration(s.queue),
      computeInput: duration(s.computeInput),
      computeInfer: duration(s.computeInfer),
      computeOutput: duration(s.computeOutput),
      cacheHit: duration(zero),
      cacheMiss: duration(zero),
    },
    batchStats: [...s.batches.entries()]
      .sort(([a], [b]) => a - b)
      .map(([size, b]) => ({
        batchSize: BigInt(size),
        computeInput: duration(b.computeInput),
        computeInfer: duration(b.computeInfer),
        computeOutput: duration(b.computeOutput),
      })),
  };
}

/** The statistics this process holds for a ModelStatistics request (`name`, `version`: "" for all). */
export function localStatistics(repository: ModelRepository, name: string, version: string): ModelStatistics[] {
  const names = name === "" ? repository.modelNames() : [name];
  const versions = version === "" ? names.flatMap((n) => repository.versions(n)) : [repository.resolve(name, version)];
  if (name !== "" && versions.length === 0) repository.resolve(name, "");
  return versions.map(statisticsOf);
}

export function createInferenceHandlers(ctx: ServiceContext): GRPCInferenceServiceServer {
  const control = ctx.control ?? ctx.repository;
  /** Wraps an async handler with its server span, the auth check and the error-to-status mapping every unary RPC shares. */
  function unary<Req, Res>(
    method: string,
    handler: (request: Req, call: ServerUnaryCall<Req, Res>, span: Span | undefined) => Promise<Res> | Res,
  ): handleUnaryCall<Req, Res> {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      const rpc = startRpc(ctx, method, call.metadata, now());
      const denied = ctx.auth.check(call.metadata);
      if (denied) {
        rpc.finish(denied.code, denied.message);
        return callback(denied.toServiceError());
      }
      Promise.resolve()
        .then(() => handler(call.request, call, rpc.span))
        .then(
          (response) => {
            rpc.finish(status.OK);
            callback(null, response);
          },
          (error: unknown) => {
            const failure = asInferenceError(error);
            rpc.finish(failure.code, failure.message);
            callback(failure.toServiceError(ctx.redact));
          },
        );
    };
  }

  return {
    serverLive: unary("ServerLive", () => ({ live: true })),
    serverReady: unary("ServerReady", () => ({ ready: !ctx.state.draining && ctx.repository.allReady() })),
    modelReady: unary("ModelReady", (request) => {
      checkModelRef(request.name, request.version, REF_FIELDS);
      try {
        ctx.repository.resolve(request.name, request.version);
        return { ready: !ctx.state.draining };
      } catch (error) {
        if (error instanceof InferenceError && error.code === status.INVALID_ARGUMENT) throw error;
        return { ready: false };
      }
    }),
    serverMetadata: unary("ServerMetadata", () => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: SERVER_EXTENSIONS })),
    modelMetadata: unary("ModelMetadata", (request) => {
      checkModelRef(request.name, request.version, REF_FIELDS);
      const model = ctx.repository.resolve(request.name, request.version);
      const config = model.config;
      const properties: Record<string, string> = {
        execution_provider: model.provider.provider,
        execution_provider_fallbacks: JSON.stringify(model.provider.fallbacks.map(ctx.redact)),
        max_batch_size: String(config.max_batch_size),
        dynamic_batching: JSON.stringify(config.dynamic_batching ?? null),
        monitored_features: JSON.stringify(config.monitored_features),
        recorded_features: JSON.stringify(recordedFeatureNames(model)),
      };
      // The metadata property keeps its published name "labels", which clients already read.
      if (config.classes) properties.labels = JSON.stringify(config.classes);
      const tensor = (t: { name: string; datatype: string; shape: number[] }) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) });
      return ModelMetadataResponse.fromPartial({
        name: model.name,
        versions: ctx.repository.versions(model.name).map((v) => String(v.version)),
        platform: ONNX_PLATFORM,
        inputs: model.signature.inputs.map(tensor),
        outputs: model.signature.outputs.map(tensor),
        properties,
      });
    }),
    modelInfer: unary("ModelInfer", async (request, call, span) => {
      const { signal, done } = requestSignal(call, `model ${request.modelName}`);
      try {
        return await infer(ctx, request, signal, originOf(call), span);
      } finally {
        done();
      }
    }),
    modelStreamInfer: (call: ServerDuplexStream<ModelInferRequest, ModelStreamInferResponse>) => {
      const denied = ctx.auth.check(call.metadata);
      if (denied) {
        call.emit("error", denied.toServiceError());
        return;
      }
      const pending = new Set<Promise<void>>();
      const stream = new AbortController();
      let ended = false;
      const finish = () => {
        if (ended) return;
        ended = true;
        ctx.state.openStreams.delete(close);
        void Promise.all(pending).then(() => call.end());
      };
      const close = () => finish();
      ctx.state.openStreams.add(close);
      call.on("cancelled", () => stream.abort());
      call.on("data", (request: ModelInferRequest) => {
        if (ended) return;
        const origin = originOf(call);
        const rpc = startRpc(ctx, "ModelStreamInfer", call.metadata, origin.arrivedNs);
        const work = infer(ctx, request, stream.signal, origin, rpc.span).then(
          (response) => {
            rpc.finish(status.OK);
            // Every Vigil model answers a request once, so with Triton's flag that answer is also the final response.
            if (wantsFinalResponseFlag(request.parameters)) response.parameters[FINAL_RESPONSE_PARAMETER] = { boolParam: true };
            call.write({ errorMessage: "", inferResponse: response });
          },
          (error: unknown) => {
            const failure = asInferenceError(error);
            rpc.finish(failure.code, failure.message);
            call.write({
              errorMessage: `${status[failure.code]}: ${ctx.redact(failure.message)}`,
              inferResponse: ModelInferResponse.fromPartial({
                modelName: clip(request.modelName, STRING_LIMITS.modelName),
                modelVersion: clip(request.modelVersion, STRING_LIMITS.modelVersion),
                id: clip(request.id, STRING_LIMITS.requestId),
              }),
            });
          },
        );
        pending.add(work);
        void work.finally(() => pending.delete(work));
      });
      call.on("end", finish);
    },
    modelConfig: unary("ModelConfig", (request) => {
      checkModelRef(request.name, request.version, REF_FIELDS);
      return { config: tritonModelConfig(ctx.repository.resolve(request.name, request.version)) };
    }),
    modelStatistics: unary("ModelStatistics", async (request) => {
      checkModelRef(request.name, request.version, REF_FIELDS);
      // Checked here first, so an unknown model or version is refused as by a single server.
      const local = localStatistics(ctx.repository, request.name, request.version);
      const modelStats = ctx.statistics ? await ctx.statistics(request.name, request.version) : local;
      return ModelStatisticsResponse.fromPartial({ modelStats });
    }),
    repositoryIndex: unary("RepositoryIndex", async (request) => {
      const models = await ctx.repository.index(request.ready);
      return RepositoryIndexResponse.fromPartial({ models: models.map((m) => ({ ...m, reason: ctx.redact(m.reason) })) });
    }),
    repositoryModelLoad: unary("RepositoryModelLoad", async (request) => {
      checkModelRef(request.modelName, "");
      ctx.repository.checkClientControl("load");
      const overrideFields = loadOverrideFields(request.modelName, request.parameters);
      try {
        await control.load(request.modelName, overrideFields);
      } catch (error) {
        if (error instanceof InferenceError) throw error;
        throw new InferenceError(status.FAILED_PRECONDITION, `failed to load model "${request.modelName}": ${(error as Error).message}`);
      }
      return {};
    }),
    repositoryModelUnload: unary("RepositoryModelUnload", async (request) => {
      checkModelRef(request.modelName, "");
      ctx.repository.checkClientControl("unload");
      checkUnloadParameters(request.parameters);
      await control.unload(request.modelName);
      return {};
    }),
  };
}

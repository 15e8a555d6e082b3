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
import type { Logger } from "pino";
import type { BearerAuth } from "./auth.js";
import { InferenceError, asInferenceError, deadlineExceeded } from "./errors.js";
import type { ModelVersion } from "./model-version.js";
import type { PredictionRecorder, RequestFacts } from "./recorder.js";
import type { ModelRepository } from "./repository.js";
import type { ServerState } from "./server-state.js";
import { decodeInputs, encodeOutputs, selectOutputs } from "./tensors.js";

export const SERVER_NAME = "vigil";
export const SERVER_VERSION = "0.1.0";
/** Triton extension names for what this server implements beyond the base protocol. */
export const SERVER_EXTENSIONS = ["model_repository", "statistics"];
/** KServe's platform name for ONNX models. */
export const ONNX_PLATFORM = "onnx_onnxv1";

export interface ServiceContext {
  repository: ModelRepository;
  auth: BearerAuth;
  state: ServerState;
  log: Logger;
  /** Absent when recording is off. */
  recorder?: PredictionRecorder;
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

/** The client's name: `x-client-id` metadata when sent, else the peer's address without its port. */
export function originOf(call: { getPeer(): string; metadata: Metadata }): RequestOrigin {
  const named = call.metadata.get("x-client-id")[0];
  const peer = call.getPeer().replace(/^ipv[46]:/, "").replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return {
    client: named ? String(named).slice(0, 64) : peer,
    arrivedUs: Date.now() * 1000,
    arrivedNs: now(),
  };
}

/**
 * Decodes, validates, queues, records and encodes one inference request; shared by unary and
 * streaming calls. Every outcome, answer or refusal, is in the prediction log before the reply.
 */
export async function infer(ctx: ServiceContext, request: ModelInferRequest, signal: AbortSignal, origin: RequestOrigin): Promise<ModelInferResponse> {
  const facts: RequestFacts = { requestId: request.id || randomUUID(), modelName: request.modelName, traceId: "", spanId: "", ...origin };
  let model: ModelVersion | undefined;
  try {
    model = ctx.repository.resolve(request.modelName, request.modelVersion);
    if (signal.aborted) throw signal.reason instanceof InferenceError ? signal.reason : new InferenceError(status.CANCELLED, "request cancelled");
    const inputs = decodeInputs(request, model.signature);
    const wanted = selectOutputs(request, model.signature);
    const result = await model.infer(inputs, signal);
    const selected = wanted.map((name) => result.outputs.find((o) => o.name === name)!);
    const { outputs, rawOutputContents } = encodeOutputs(selected, request.rawInputContents.length > 0);
    await ctx.recorder?.success(facts, model, inputs, result.outputs, result);
    const rows = model.signature.maxBatchSize > 0 ? inputs[0]!.shape[0]! : 1;
    model.stats.recordSuccess(rows, Number(now() - origin.arrivedNs), result);
    return { modelName: model.name, modelVersion: String(model.version), id: facts.requestId, parameters: {}, outputs, rawOutputContents };
  } catch (error) {
    const failure = asInferenceError(error);
    model?.stats.recordFailure(Number(now() - origin.arrivedNs));
    const fields = { request_id: facts.requestId, model: model?.label ?? request.modelName, code: status[failure.code], err: failure.message };
    if (failure.code === status.INTERNAL) ctx.log.error(fields, "inference failed");
    else ctx.log.debug(fields, "inference refused");
    await ctx.recorder?.failure(facts, failure, model, request.modelVersion).catch((e: unknown) =>
      ctx.log.error({ ...fields, recordError: (e as Error).message }, "a refused request could not be written to the prediction log"),
    );
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

export function createInferenceHandlers(ctx: ServiceContext): GRPCInferenceServiceServer {
  /** Wraps an async handler with the auth check and error-to-status mapping every unary RPC shares. */
  function unary<Req, Res>(handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res): handleUnaryCall<Req, Res> {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      const denied = ctx.auth.check(call.metadata);
      if (denied) return callback(denied.toServiceError());
      Promise.resolve()
        .then(() => handler(call.request, call))
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(asInferenceError(error).toServiceError()),
        );
    };
  }

  return {
    serverLive: unary(() => ({ live: true })),
    serverReady: unary(() => ({ ready: !ctx.state.draining && ctx.repository.allReady() })),
    modelReady: unary((request) => {
      try {
        ctx.repository.resolve(request.name, request.version);
        return { ready: !ctx.state.draining };
      } catch (error) {
        if (error instanceof InferenceError && error.code === status.INVALID_ARGUMENT) throw error;
        return { ready: false };
      }
    }),
    serverMetadata: unary(() => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: SERVER_EXTENSIONS })),
    modelMetadata: unary((request) => {
      const model = ctx.repository.resolve(request.name, request.version);
      const config = model.config;
      const properties: Record<string, string> = {
        execution_provider: model.provider.provider,
        execution_provider_fallbacks: JSON.stringify(model.provider.fallbacks),
        max_batch_size: String(config.max_batch_size),
        dynamic_batching: JSON.stringify(config.dynamic_batching ?? null),
        monitored_features: JSON.stringify(config.monitored_features),
      };
      if (config.labels) properties.labels = JSON.stringify(config.labels);
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
    modelInfer: unary(async (request, call) => {
      const { signal, done } = requestSignal(call, `model ${request.modelName}`);
      try {
        return await infer(ctx, request, signal, originOf(call));
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
        const work = infer(ctx, request, stream.signal, originOf(call)).then(
          (response) => {
            call.write({ errorMessage: "", inferResponse: response });
          },
          (error: unknown) => {
            const failure = asInferenceError(error);
            call.write({
              errorMessage: `${status[failure.code]}: ${failure.message}`,
              inferResponse: ModelInferResponse.fromPartial({ modelName: request.modelName, modelVersion: request.modelVersion, id: request.id }),
            });
          },
        );
        pending.add(work);
        void work.finally(() => pending.delete(work));
      });
      call.on("end", finish);
    },
    modelStatistics: unary((request) => {
      const names = request.name === "" ? ctx.repository.modelNames() : [request.name];
      const versions =
        request.version === "" ? names.flatMap((n) => ctx.repository.versions(n)) : [ctx.repository.resolve(request.name, request.version)];
      if (request.name !== "" && versions.length === 0) ctx.repository.resolve(request.name, "");
      return ModelStatisticsResponse.fromPartial({ modelStats: versions.map(statisticsOf) });
    }),
    repositoryIndex: unary(async (request) => RepositoryIndexResponse.fromPartial({ models: await ctx.repository.index(request.ready) })),
    repositoryModelLoad: unary(async (request) => {
      try {
        await ctx.repository.load(request.modelName);
      } catch (error) {
        if (error instanceof InferenceError) throw error;
        throw new InferenceError(status.FAILED_PRECONDITION, `failed to load model "${request.modelName}": ${(error as Error).message}`);
      }
      return {};
    }),
    repositoryModelUnload: unary(async (request) => {
      await ctx.repository.unload(request.modelName);
      return {};
    }),
  };
}

import { type ServerUnaryCall, type sendUnaryData, status } from "@grpc/grpc-js";
import type { FeedbackServer, SubmitLabelsRequest, SubmitLabelsResponse } from "@vigil/proto";
import type { LabelRecord, RecordSink } from "@vigil/store";
import { WriterFullError } from "@vigil/store";
import type { Logger } from "pino";
import type { BearerAuth } from "./auth.js";
import { InferenceError, type Redact, asInferenceError, invalidArgument } from "./errors.js";
import { STRING_LIMITS, checkLength } from "./limits.js";
import type { ServerMetrics } from "./metrics.js";
import type { ModelRepository } from "./repository.js";

export const MAX_LABELS_PER_CALL = 10_000;

export interface FeedbackContext {
  repository: ModelRepository;
  auth: BearerAuth;
  /** Absent when recording is off. */
  labels?: RecordSink<LabelRecord>;
  /** The models each request id is logged under (modelsOfRequests of the store); absent when recording is off. */
  modelsOf?: (requestIds: string[]) => Promise<Map<string, string[]>>;
  metrics?: ServerMetrics;
  log: Logger;
  /** Applied to every message a client receives (a full writer names its spool directory). */
  redact: Redact;
  waitMs: number;
}

function validate(request: SubmitLabelsRequest, repository: ModelRepository): void {
  if (request.labels.length === 0) throw invalidArgument("labels is empty; send at least one {request_id, label}");
  if (request.labels.length > MAX_LABELS_PER_CALL) throw invalidArgument(`${request.labels.length} labels in one call; send at most ${MAX_LABELS_PER_CALL}`);
  checkLength("model_name", request.modelName, STRING_LIMITS.modelName);
  checkLength("source", request.source, STRING_LIMITS.source);
  const model = repository.versions(request.modelName)[0];
  if (!model) throw new InferenceError(status.NOT_FOUND, `model "${request.modelName}" is not loaded; labels are checked against its classes`);
  const classes = model.config.classes;
  request.labels.forEach((item, i) => {
    checkLength(`labels[${i}].request_id`, item.requestId, STRING_LIMITS.requestId);
    checkLength(`labels[${i}].label`, item.label, STRING_LIMITS.label);
    if (item.requestId.trim() === "") throw invalidArgument(`labels[${i}].request_id is empty`);
    if (classes) {
      if (!classes.includes(item.label)) {
        throw invalidArgument(`labels[${i}].label "${item.label}" is not a class of model "${model.name}" (${classes.join(", ")})`);
      }
    } else if (item.label.trim() === "" || !Number.isFinite(Number(item.label))) {
      throw invalidArgument(`labels[${i}].label "${item.label}" is not a number, and model "${model.name}" has no classes`);
    }
  });
}

/**
 * Refuses labels for request ids the log holds under other models only (a label is the truth about
 * one model's prediction, and the labels table keys rows by request id, so a label filed under the
 * wrong model could stand in for the right one's). Ids the log does not hold are accepted, since
 * their prediction may still be on its way to the log, and counted in
 * vigil_labels_unmatched_total and a warning. When the log cannot be read, the labels are taken
 * unchecked rather than lost.
 */
async function checkRequestsOfModel(ctx: FeedbackContext, request: SubmitLabelsRequest): Promise<void> {
  if (!ctx.modelsOf) return;
  let logged: Map<string, string[]>;
  try {
    logged = await ctx.modelsOf(request.labels.map((item) => item.requestId));
  } catch (error) {
    ctx.log.warn(
      { model: request.modelName, labels: request.labels.length, err: (error as Error).message },
      "the prediction log could not be read; labels accepted without checking their request ids",
    );
    return;
  }
  let unmatched = 0;
  request.labels.forEach((item, i) => {
    const models = logged.get(item.requestId);
    if (!models) unmatched++;
    else if (!models.includes(request.modelName)) {
      throw invalidArgument(
        `labels[${i}].request_id "${item.requestId}" is a prediction of model "${models.join('", "')}", not "${request.modelName}"; send its label under that model`,
      );
    }
  });
  if (unmatched > 0) {
    ctx.metrics?.observeUnmatchedLabels(request.modelName, unmatched);
    ctx.log.warn({ model: request.modelName, unmatched, labels: request.labels.length }, "labels for request ids the prediction log does not hold");
  }
}

/**
 * vigil.v1.Feedback: labels checked against the model's classes and the prediction log, all or
 * none, then written to `labels`.
 */
export function createFeedbackHandlers(ctx: FeedbackContext): FeedbackServer {
  // Every label gets its own, later timestamp, even within one millisecond or one call: the labels
  // table keeps the row with the newest timestamp, so a later label for a row always wins.
  let lastUs = 0;
  const stamp = () => (lastUs = Math.max(Date.now() * 1000, lastUs + 1));
  return {
    submitLabels: (call: ServerUnaryCall<SubmitLabelsRequest, SubmitLabelsResponse>, callback: sendUnaryData<SubmitLabelsResponse>) => {
      const denied = ctx.auth.check(call.metadata);
      if (denied) return callback(denied.toServiceError());
      const run = async (): Promise<SubmitLabelsResponse> => {
        const labels = ctx.labels;
        if (!labels)
          throw new InferenceError(status.FAILED_PRECONDITION, "this server does not record predictions (record_predictions is off), so it keeps no labels");
        const request = call.request;
        validate(request, ctx.repository);
        await checkRequestsOfModel(ctx, request);
        const deadline = Date.now() + ctx.waitMs;
        try {
          for (const item of request.labels) {
            const label = {
              requestId: item.requestId,
              rowIndex: item.rowIndex,
              modelName: request.modelName,
              label: item.label,
              timestampUs: stamp(),
              source: request.source || "api",
            };
            await labels.append(label, Math.max(0, deadline - Date.now()));
          }
        } catch (error) {
          if (error instanceof WriterFullError) throw new InferenceError(status.UNAVAILABLE, `${error.message}; retry later`);
          throw error;
        }
        return { accepted: request.labels.length };
      };
      run().then(
        (response) => callback(null, response),
        (error: unknown) => callback(asInferenceError(error).toServiceError(ctx.redact)),
      );
    },
  };
}

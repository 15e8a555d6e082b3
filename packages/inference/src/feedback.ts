import { type ServerUnaryCall, type sendUnaryData, status } from "@grpc/grpc-js";
import type { FeedbackServer, SubmitLabelsRequest, SubmitLabelsResponse } from "@vigil/proto";
import type { BatchedWriter, LabelRecord } from "@vigil/store";
import { WriterFullError } from "@vigil/store";
import type { BearerAuth } from "./auth.js";
import { InferenceError, asInferenceError, invalidArgument } from "./errors.js";
import type { ModelRepository } from "./repository.js";

export const MAX_LABELS_PER_CALL = 10_000;

export interface FeedbackContext {
  repository: ModelRepository;
  auth: BearerAuth;
  /** Absent when recording is off. */
  labels?: BatchedWriter<LabelRecord>;
  waitMs: number;
}

function validate(request: SubmitLabelsRequest, repository: ModelRepository): void {
  if (request.labels.length === 0) throw invalidArgument("labels is empty; send at least one {request_id, label}");
  if (request.labels.length > MAX_LABELS_PER_CALL) throw invalidArgument(`${request.labels.length} labels in one call; send at most ${MAX_LABELS_PER_CALL}`);
  const model = repository.versions(request.modelName)[0];
  if (!model) throw new InferenceError(status.NOT_FOUND, `model "${request.modelName}" is not loaded; labels are checked against its classes`);
  const classes = model.config.classes;
  request.labels.forEach((item, i) => {
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

/** vigil.v1.Feedback: labels checked against the model's classes, all or none, then written to `labels`. */
export function createFeedbackHandlers(ctx: FeedbackContext): FeedbackServer {
  return {
    submitLabels: (call: ServerUnaryCall<SubmitLabelsRequest, SubmitLabelsResponse>, callback: sendUnaryData<SubmitLabelsResponse>) => {
      const denied = ctx.auth.check(call.metadata);
      if (denied) return callback(denied.toServiceError());
      const run = async (): Promise<SubmitLabelsResponse> => {
        const labels = ctx.labels;
        if (!labels) throw new InferenceError(status.FAILED_PRECONDITION, "this server does not record predictions (record_predictions is off), so it keeps no labels");
        const request = call.request;
        validate(request, ctx.repository);
        const nowUs = Date.now() * 1000;
        const deadline = Date.now() + ctx.waitMs;
        try {
          for (const item of request.labels) {
            const label = { requestId: item.requestId, rowIndex: item.rowIndex, modelName: request.modelName, label: item.label, timestampUs: nowUs, source: request.source || "api" };
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
        (error: unknown) => callback(asInferenceError(error).toServiceError()),
      );
    },
  };
}

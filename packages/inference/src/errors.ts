import { Metadata, status } from "@grpc/grpc-js";

/** An error that knows the gRPC status a client should receive; the message is for a person to act on. */
export class InferenceError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = "InferenceError";
  }

  toServiceError(): { code: status; details: string; metadata: Metadata } {
    return { code: this.code, details: this.message, metadata: new Metadata() };
  }
}

export const invalidArgument = (message: string) => new InferenceError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new InferenceError(status.NOT_FOUND, message);
export const unavailable = (message: string) => new InferenceError(status.UNAVAILABLE, message);
export const resourceExhausted = (message: string) => new InferenceError(status.RESOURCE_EXHAUSTED, message);
export const deadlineExceeded = (message: string) => new InferenceError(status.DEADLINE_EXCEEDED, message);

/** Any thrown value as an InferenceError; unexpected failures become INTERNAL with their message kept. */
export function asInferenceError(error: unknown): InferenceError {
  if (error instanceof InferenceError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new InferenceError(status.INTERNAL, `internal error: ${message}`);
}

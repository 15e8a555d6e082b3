import { realpathSync } from "node:fs";
import { basename, relative, resolve, sep } from "node:path";
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

  /** The error as grpc-js sends it; `redact` rewrites the message for the client (see pathRedactor). */
  toServiceError(redact: Redact = (message) => message): { code: status; details: string; metadata: Metadata } {
    return { code: this.code, details: redact(this.message), metadata: new Metadata() };
  }
}

/** Rewrites a message before it leaves the server. */
export type Redact = (message: string) => string;

/** An absolute POSIX path: a "/" that starts a word (not the "//" of a URL), up to a space, quote or bracket. */
const ABSOLUTE_PATH = /(?<![\w.:/~-])\/[^\s"'`,;()[\]{}<>]+/g;

/**
 * Messages for clients name paths relative to the model repository, and any other path (an
 * onnxruntime library under node_modules, a data directory) by its file name alone: where the
 * server is installed is no business of its callers. Logs keep the full paths for operators.
 */
export function pathRedactor(repositoryRoot: string): Redact {
  const absolute = resolve(repositoryRoot);
  const roots = [...new Set([absolute, realpathOr(absolute)])];
  return (message) =>
    message.replace(ABSOLUTE_PATH, (path) => {
      const root = roots.find((r) => path === r || path.startsWith(`${r}${sep}`));
      return root === undefined ? basename(path) : relative(root, path) || ".";
    });
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
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

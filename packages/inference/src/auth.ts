import { type Metadata, status } from "@grpc/grpc-js";
import { TokenSet, bearerToken } from "@vigil/config";
import { InferenceError } from "./errors.js";

/** Bearer-token check for gRPC metadata (constant-time, see TokenSet). */
export class BearerAuth {
  private readonly tokens: TokenSet;

  constructor(tokens: readonly string[]) {
    this.tokens = new TokenSet(tokens);
  }

  get enabled(): boolean {
    return this.tokens.enabled;
  }

  /** Undefined when the call may proceed; otherwise the UNAUTHENTICATED error to send. */
  check(metadata: Metadata): InferenceError | undefined {
    if (!this.enabled) return undefined;
    const header = metadata.get("authorization")[0];
    if (header === undefined) {
      return new InferenceError(status.UNAUTHENTICATED, "missing credentials: send metadata 'authorization: Bearer <token>'");
    }
    const token = bearerToken(String(header));
    if (token === undefined) return new InferenceError(status.UNAUTHENTICATED, "authorization metadata must be 'Bearer <token>'");
    return this.tokens.accepts(token) ? undefined : new InferenceError(status.UNAUTHENTICATED, "bearer token not accepted");
  }
}

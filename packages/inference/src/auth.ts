import { createHash, timingSafeEqual } from "node:crypto";
import { type Metadata, status } from "@grpc/grpc-js";
import { InferenceError } from "./errors.js";

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Bearer-token check for gRPC metadata. Tokens are compared as SHA-256 digests in constant
 * time, so neither the token's content nor its length leaks through timing.
 */
export class BearerAuth {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.digests = tokens.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** Undefined when the call may proceed; otherwise the UNAUTHENTICATED error to send. */
  check(metadata: Metadata): InferenceError | undefined {
    if (!this.enabled) return undefined;
    const header = metadata.get("authorization")[0];
    if (header === undefined) {
      return new InferenceError(status.UNAUTHENTICATED, "missing credentials: send metadata 'authorization: Bearer <token>'");
    }
    const match = /^Bearer\s+(.+)$/i.exec(String(header).trim());
    if (!match) return new InferenceError(status.UNAUTHENTICATED, "authorization metadata must be 'Bearer <token>'");
    const presented = digest(match[1]!);
    const accepted = this.digests.some((d) => timingSafeEqual(d, presented));
    return accepted ? undefined : new InferenceError(status.UNAUTHENTICATED, "bearer token not accepted");
  }
}

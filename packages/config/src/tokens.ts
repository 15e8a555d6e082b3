import { createHash, timingSafeEqual } from "node:crypto";

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Access tokens from config. Tokens are compared as SHA-256 digests in constant time, so
 * neither a token's content nor its length leaks through timing. No tokens: access is open.
 */
export class TokenSet {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.digests = tokens.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  accepts(token: string): boolean {
    const presented = digest(token);
    return this.digests.some((d) => timingSafeEqual(d, presented));
  }
}

/** The token of an `authorization: Bearer <token>` value, or undefined when it is not one. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(String(header ?? "").trim())?.[1];
}

import { chmodSync, mkdirSync } from "node:fs";

/** The prediction log holds every input a client sent, so its directories and files are the owner's alone. */
export const PRIVATE_DIRECTORY_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `path` (and missing parents) readable by the owner only, and tightens it if it already existed. */
export function ensurePrivateDirectory(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  chmodSync(path, PRIVATE_DIRECTORY_MODE);
}

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** A model's settings, in its directory (`<repository>/<model>/config.json`). */
export const MODEL_CONFIG_FILE = "config.json";
/** The model itself, in each version directory. */
export const MODEL_FILE = "model.onnx";
/** Optional `sha256sum` line for MODEL_FILE; when present, bytes that do not match it are refused. */
export const MODEL_CHECKSUM_FILE = `${MODEL_FILE}.sha256`;
/** The monitor's reference sample, in each version directory: one {"features", "prediction"?, "confidence"?} per line. */
export const REFERENCE_FILE = "reference.jsonl";

/**
 * Version directories are positive integers without leading zeros, so "01" cannot shadow "1", and
 * small enough to be exact as numbers (20 nines would read back as 1e20, another directory).
 */
const VERSION_NAME = /^[1-9][0-9]{0,14}$/;

/** The version a directory (or a requested version string) names, or undefined when it names none. */
export function parseVersion(name: string): number | undefined {
  return VERSION_NAME.test(name) ? Number(name) : undefined;
}

/** The directory of one version of a model, given the model's directory. */
export function versionDirectory(modelDir: string, version: number | string): string {
  return join(modelDir, String(version));
}

/** The versions whose directories a model's directory holds, oldest first; none when it does not exist. */
export function versionsOnDisk(modelDir: string): number[] {
  if (!existsSync(modelDir)) return [];
  return readdirSync(modelDir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? (parseVersion(entry.name) ?? []) : []))
    .sort((a, b) => a - b);
}

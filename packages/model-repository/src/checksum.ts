import { createHash } from "node:crypto";
import { MODEL_FILE } from "./layout.js";

/** The sha256 of a model file, in hex, as model.onnx.sha256 publishes it. */
export const modelChecksum = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** model.onnx.sha256's text (a sha256sum line, or the bare digest). */
export const checksumLine = (sha256: string) => `${sha256}  ${MODEL_FILE}\n`;

/**
 * Why a model file is not the one its checksum file publishes, or undefined when it is. `shown`
 * names the files in the message (paths a person can find).
 */
export function checksumMismatch(bytes: Uint8Array, checksumText: string, shown: { model: string; checksum: string }): string | undefined {
  const expected = checksumText.trim().split(/\s+/)[0]?.toLowerCase() ?? "";
  const actual = modelChecksum(bytes);
  if (actual === expected) return undefined;
  return `checksum mismatch for ${shown.model}: file has sha256 ${actual}, ${shown.checksum} says ${expected || "nothing"}`;
}

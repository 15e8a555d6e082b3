import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { checksumLine, modelChecksum } from "./checksum.js";
import { MODEL_CHECKSUM_FILE, MODEL_FILE, REFERENCE_FILE, versionDirectory } from "./layout.js";

export interface VersionFiles {
  model: Uint8Array;
  /** reference.jsonl's text, when the version has a reference sample. */
  reference?: string;
}

/**
 * Writes one version of a model: its model file, that file's sha256sum line, and its reference
 * sample. The files are written into a hidden sibling directory that is renamed into place at
 * the end, so a server scanning the repository never sees a version without its checksum.
 * An existing version is refused unless `replace` is set.
 */
export async function writeModelVersion(
  modelDir: string,
  version: number,
  files: VersionFiles,
  options: { replace?: boolean } = {},
): Promise<{ dir: string; sha256: string }> {
  const dir = versionDirectory(modelDir, version);
  if (existsSync(dir) && !options.replace) throw new Error(`version ${version} already exists at ${dir}`);
  await mkdir(modelDir, { recursive: true });
  // A name parseVersion rejects, so the repository scan skips it while it fills.
  const staging = await mkdtemp(join(modelDir, `.writing-${version}-`));
  try {
    // mkdtemp makes it private (0700); a version directory is as readable as the rest of the repository.
    await chmod(staging, 0o755);
    const sha256 = modelChecksum(files.model);
    await writeFile(join(staging, MODEL_FILE), files.model);
    await writeFile(join(staging, MODEL_CHECKSUM_FILE), checksumLine(sha256));
    if (files.reference !== undefined) await writeFile(join(staging, REFERENCE_FILE), files.reference);
    if (options.replace) await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    return { dir, sha256 };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { MODEL_CHECKSUM_FILE, MODEL_CONFIG_FILE, MODEL_FILE, parseVersion, versionDirectory } from "@vigil/model-repository";
import type { Logger } from "pino";
import type { ModelRepository } from "./repository.js";
import type { RepositoryPaths } from "./repository-paths.js";

/**
 * A digest of everything a model's load reads: config.json and, per version directory, the model
 * file and its checksum file. Read by the repository's rule (RepositoryPaths): a link leading out
 * or a file that is not regular is recorded as such, never read.
 */
export async function modelFingerprint(paths: RepositoryPaths, modelDir: string): Promise<string> {
  const hash = createHash("sha256");
  const add = async (path: string) => {
    hash.update(`\0${paths.shown(path)}\0`);
    const real = await paths.inside(path);
    if (real === undefined) return void hash.update("absent or outside");
    const isFile = await stat(real).then(
      (s) => s.isFile(),
      () => false,
    );
    hash.update(isFile ? await readFile(real).catch(() => "unreadable") : "not a regular file");
  };
  await add(join(modelDir, MODEL_CONFIG_FILE));
  const versions = (await paths.directories(modelDir).catch(() => [])).filter((d) => parseVersion(d) !== undefined);
  for (const version of versions) {
    const dir = versionDirectory(modelDir, version);
    await add(join(dir, MODEL_FILE));
    await add(join(dir, MODEL_CHECKSUM_FILE));
  }
  return hash.digest("hex");
}

/**
 * Triton's poll model-control mode: the repository is rescanned every `intervalMs`; a model whose
 * files changed (or that is new) is loaded or reloaded, a model whose directory is gone is
 * unloaded. A load that fails is not retried until the model's files change again.
 */
export class RepositoryPoller {
  private readonly fingerprints = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly repository: ModelRepository,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Records what start-up loaded, then rescans every interval. */
  async start(): Promise<void> {
    await this.scan(false);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.scanning;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.scanning = this.scan(true)
        .catch((error: unknown) => this.log.error({ err: error }, "model repository poll failed; retrying at the next interval"))
        .finally(() => this.schedule());
    }, this.intervalMs);
  }

  /** One pass over the repository; with `apply` off it only records the fingerprints of what is on disk. */
  private async scan(apply: boolean): Promise<void> {
    const paths = this.repository.pathRules;
    const onDisk = await this.repository.directoryNames();
    for (const name of onDisk) {
      if (this.stopped) return;
      const fingerprint = await modelFingerprint(paths, join(this.repository.root, name));
      if (this.fingerprints.get(name) === fingerprint) continue;
      this.fingerprints.set(name, fingerprint);
      if (!apply) continue;
      this.log.info({ model: name }, `model ${name} changed on disk; loading it`);
      await this.repository
        .load(name)
        .catch((error: unknown) => this.log.error({ model: name, err: error }, `model ${name} failed to load after a change on disk`));
    }
    const present = new Set(onDisk);
    for (const name of [...this.fingerprints.keys(), ...this.repository.modelNames()]) {
      if (present.has(name) || this.stopped) continue;
      this.fingerprints.delete(name);
      if (!apply || this.repository.state(name) === undefined) continue;
      this.log.info({ model: name }, `model ${name} was removed from the repository; unloading it`);
      await this.repository.unload(name).catch((error: unknown) => this.log.error({ model: name, err: error }, `model ${name} could not be unloaded`));
    }
  }
}

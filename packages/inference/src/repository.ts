import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { status } from "@grpc/grpc-js";
import { readJsonObject } from "@vigil/config";
import { InferenceError, invalidArgument, notFound, unavailable } from "./errors.js";
import {
  MODEL_CHECKSUM_FILE,
  MODEL_CONFIG_FILE,
  MODEL_FILE,
  type ModelConfig,
  checksumMismatch,
  parseModelConfig,
  parseVersion,
  versionDirectory,
} from "@vigil/model-repository";
import { type ExecutionListener, ModelVersion } from "./model-version.js";
import { RepositoryPaths } from "./repository-paths.js";
import { type ActiveRollout, resolveRollout } from "./rollout.js";

/**
 * Who decides which models are loaded, as Triton's --model-control-mode. Every mode loads the
 * whole repository at start-up (Triton's explicit mode does so with --load-model=*).
 * - explicit: clients load and unload with RepositoryModelLoad/Unload;
 * - none: the start-up set stays; clients cannot load or unload;
 * - poll: the repository is rescanned periodically (repository-poll.ts); clients cannot load or unload.
 */
export const MODEL_CONTROL_MODES = ["explicit", "none", "poll"] as const;
export type ModelControlMode = (typeof MODEL_CONTROL_MODES)[number];

/** Triton's model states, as RepositoryIndex reports them. */
export type ModelState = "LOADING" | "READY" | "UNLOADING" | "UNAVAILABLE";

export interface ModelIndexEntry {
  name: string;
  version: string;
  state: ModelState;
  reason: string;
}

interface ModelEntry {
  state: ModelState;
  reason: string;
  config?: ModelConfig;
  versions: Map<number, ModelVersion>;
  /** The rollout policy being applied to requests without a version. */
  rollout?: ActiveRollout;
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const invalidModelName = (name: string) => invalidArgument(`"${name}" is not a valid model name (letters, digits, '_', '.', '-')`);

/** The versions a model's version_policy loads out of those present, newest first. */
export function choosePolicyVersions(config: ModelConfig, available: number[]): number[] {
  const sorted = [...available].sort((a, b) => b - a);
  const policy = config.version_policy;
  if ("all" in policy) return sorted;
  if ("latest" in policy) return sorted.slice(0, policy.latest);
  return sorted.filter((v) => policy.specific.includes(v));
}

/** Reads the model file and, when its checksum file is present, refuses bytes that do not match it. */
async function readVerifiedModel(paths: RepositoryPaths, dir: string, log: Logger): Promise<Uint8Array> {
  const path = join(dir, MODEL_FILE);
  const shown = paths.shown(path);
  await paths.requireRegularFile(path, "model file");
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${shown}: ${error.code ?? error.message}`);
  });
  const digestFile = join(dir, MODEL_CHECKSUM_FILE);
  if (!(await paths.requireRegularFile(digestFile, "checksum file", true))) {
    log.warn({ path }, `${shown} has no ${MODEL_CHECKSUM_FILE}; loading it unverified`);
    return bytes;
  }
  const mismatch = checksumMismatch(bytes, await readFile(digestFile, "utf8"), { model: shown, checksum: paths.shown(digestFile) });
  if (mismatch) throw new Error(`${mismatch}; refusing to load a model that is not the one published`);
  return bytes;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Override fields merged into the file's field by field: settings Triton's config has no word for (the batching mode, thread counts) keep the file's values. */
const MERGED_FIELDS = new Set(["execution", "dynamic_batching"]);

/**
 * config.json with a load's override fields in place of the file's: execution and
 * dynamic_batching merged field by field, any other field (version_policy, rollout) replaced
 * whole, and removed when the override gives null.
 */
function readConfigWithOverride(path: string, overrideFields: Record<string, unknown> | undefined, onWarning: (message: string) => void): ModelConfig {
  const raw = readJsonObject(path, "model config");
  if (!overrideFields) return parseModelConfig(path, raw, onWarning);
  const merged = { ...raw };
  for (const [key, value] of Object.entries(overrideFields)) {
    const current = raw[key];
    if (value === null) delete merged[key];
    else merged[key] = MERGED_FIELDS.has(key) && isRecord(value) && isRecord(current) ? { ...current, ...value } : value;
  }
  return parseModelConfig(`${path} with the load's "config" override`, merged, onWarning);
}

/**
 * The models on disk and the versions loaded from them. Loading a model that is already
 * serving builds the new versions first and swaps them in, so a reload never drops traffic.
 */
export class ModelRepository extends EventEmitter<{ change: [name: string, state: ModelState]; rollout: [rollout: ActiveRollout] }> {
  private readonly models = new Map<string, ModelEntry>();
  /** Serialises load and unload of one model. */
  private readonly locks = new Map<string, Promise<void>>();
  private readonly paths: RepositoryPaths;

  constructor(
    readonly root: string,
    private readonly log: Logger,
    private readonly onExecution?: ExecutionListener,
    readonly controlMode: ModelControlMode = "explicit",
  ) {
    super();
    this.paths = new RepositoryPaths(root);
  }

  /** Refuses a client's RepositoryModelLoad/Unload unless the control mode is explicit. */
  checkClientControl(action: "load" | "unload"): void {
    if (this.controlMode !== "explicit") {
      throw new InferenceError(
        status.FAILED_PRECONDITION,
        `model ${action} requests are refused: the server runs with model_control_mode "${this.controlMode}"${this.controlMode === "poll" ? ", so the repository's contents decide what is loaded" : ""}; use "explicit" to load and unload by request`,
      );
    }
  }

  /**
   * Every model directory on disk, with its state and the versions loaded, plus models still
   * serving whose directory has been deleted. A model that is not serving and whose directory
   * is gone is forgotten: it no longer exists.
   */
  async index(readyOnly = false): Promise<ModelIndexEntry[]> {
    this.forgetDeletedModels();
    const names = new Set([...(await this.paths.directories(this.root)), ...this.models.keys()]);
    const rows: ModelIndexEntry[] = [];
    for (const name of [...names].sort()) {
      const entry = this.models.get(name);
      if (!entry) {
        if (!readyOnly) rows.push({ name, version: "", state: "UNAVAILABLE", reason: "not loaded" });
        continue;
      }
      if (entry.versions.size === 0) {
        if (!readyOnly || entry.state === "READY") rows.push({ name, version: "", state: entry.state, reason: entry.reason });
        continue;
      }
      for (const version of [...entry.versions.keys()].sort((a, b) => a - b)) {
        if (!readyOnly || entry.state === "READY") rows.push({ name, version: String(version), state: entry.state, reason: entry.reason });
      }
    }
    return rows;
  }

  async loadAll(): Promise<void> {
    const names = await this.paths.directories(this.root);
    const results = await Promise.allSettled(names.map((name) => this.load(name)));
    results.forEach((r, i) => {
      if (r.status === "rejected") this.log.error({ model: names[i], err: r.reason }, `model ${names[i]} failed to load`);
    });
  }

  /**
   * Loads or reloads a model. `overrideFields` (config.json fields, from a RepositoryModelLoad
   * `config` parameter) replace the file's for this load only.
   */
  load(name: string, overrideFields?: Record<string, unknown>): Promise<void> {
    if (!MODEL_NAME.test(name)) return Promise.reject(invalidModelName(name));
    return this.exclusive(name, () => this.loadNow(name, overrideFields));
  }

  /**
   * Unloads a model. Unloading one that is not loaded succeeds, as Triton's does; a model whose
   * directory has been deleted is forgotten once unloaded.
   */
  unload(name: string): Promise<void> {
    // Checked first: the answer below tells whether a directory exists, which must not reach outside the repository.
    if (!MODEL_NAME.test(name)) return Promise.reject(invalidModelName(name));
    return this.exclusive(name, async () => {
      const entry = this.models.get(name);
      const onDisk = existsSync(join(this.root, name));
      if (!entry && !onDisk) throw notFound(`model "${name}" is not in the repository`);
      if (entry && entry.versions.size > 0) {
        this.setState(name, entry, "UNLOADING", "unloading");
        const versions = [...entry.versions.values()];
        entry.versions = new Map();
        entry.rollout = undefined;
        await Promise.all(versions.map((v) => v.unload()));
        this.log.info({ model: name }, `model ${name} unloaded`);
      }
      if (!onDisk) this.forget(name);
      else if (entry) this.setState(name, entry, "UNAVAILABLE", "unloaded");
    });
  }

  /** Names of the model directories on disk now. */
  directoryNames(): Promise<string[]> {
    return this.paths.directories(this.root);
  }

  /** The RepositoryPaths rule this repository reads by, for readers beside it (the poller). */
  get pathRules(): RepositoryPaths {
    return this.paths;
  }

  /** The version that serves a request: the named one, else the rollout's primary, else the highest loaded. */
  resolve(name: string, version: string): ModelVersion {
    const entry = this.models.get(name);
    if (!entry) {
      const known = this.modelNames().join(", ") || "none";
      throw notFound(`model "${name}" is not in the repository (loaded models: ${known})`);
    }
    if (entry.versions.size === 0) {
      if (entry.state === "LOADING") throw unavailable(`model "${name}" is loading; retry shortly`);
      throw unavailable(`model "${name}" is not available: ${entry.reason}`);
    }
    if (version === "") {
      if (entry.rollout) return entry.versions.get(entry.rollout.primary)!;
      const highest = Math.max(...entry.versions.keys());
      return entry.versions.get(highest)!;
    }
    const number = parseVersion(version);
    if (number === undefined) throw invalidArgument(`model version "${version}" is not a positive integer`);
    const found = entry.versions.get(number);
    if (!found) {
      const loaded = [...entry.versions.keys()].sort((a, b) => a - b).join(", ");
      throw notFound(`model "${name}" has no version ${version} loaded (loaded: ${loaded})`);
    }
    return found;
  }

  /** The rollout policy a model's requests without a version follow, when its config has one. */
  rolloutOf(name: string): ActiveRollout | undefined {
    return this.models.get(name)?.rollout;
  }

  /** Loaded versions of a model, highest first; empty for an unknown or unloaded model. */
  versions(name: string): ModelVersion[] {
    return [...(this.models.get(name)?.versions.values() ?? [])].sort((a, b) => b.version - a.version);
  }

  state(name: string): ModelState | undefined {
    return this.models.get(name)?.state;
  }

  modelNames(): string[] {
    return [...this.models.keys()].sort();
  }

  /**
   * True when every model that was asked to load is serving. A model that failed to load and
   * whose directory has since been deleted no longer exists, so it is forgotten rather than left
   * holding readiness down.
   */
  allReady(): boolean {
    this.forgetDeletedModels();
    return [...this.models.values()].every((e) => e.state === "READY" || e.reason === "unloaded");
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.models.entries()].map(([name, entry]) =>
        this.exclusive(name, async () => {
          const versions = [...entry.versions.values()];
          entry.versions = new Map();
          await Promise.all(versions.map((v) => v.unload()));
        }),
      ),
    );
  }

  /** Forgets models that serve nothing and whose directory is gone; cheap: only such models are looked at on disk. */
  private forgetDeletedModels(): void {
    for (const [name, entry] of this.models) {
      if (entry.versions.size === 0 && entry.state === "UNAVAILABLE" && !existsSync(join(this.root, name))) this.forget(name);
    }
  }

  private forget(name: string): void {
    if (!this.models.delete(name)) return;
    this.log.info({ model: name }, `model ${name} is no longer in the repository; forgotten`);
    this.emit("change", name, "UNAVAILABLE");
  }

  private async loadNow(name: string, overrideFields: Record<string, unknown> | undefined): Promise<void> {
    const dir = join(this.root, name);
    const isDir = await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) {
      // Deleted since it was loaded (or failed to load): the server follows the repository.
      const gone = this.models.get(name);
      if (gone) {
        await Promise.all([...gone.versions.values()].map((v) => v.unload()));
        gone.versions = new Map();
        this.forget(name);
      }
      throw notFound(`model "${name}" has no directory in the repository`);
    }

    let entry = this.models.get(name);
    if (!entry) {
      entry = { state: "LOADING", reason: "loading", versions: new Map() };
      this.models.set(name, entry);
    }
    const serving = entry.versions.size > 0;
    if (!serving) this.setState(name, entry, "LOADING", "loading");
    const started = Date.now();
    const loaded: ModelVersion[] = [];
    try {
      await this.paths.requireDirectory(dir, "model directory");
      const configPath = join(dir, MODEL_CONFIG_FILE);
      await this.paths.requireRegularFile(configPath, "model config");
      const config = readConfigWithOverride(configPath, overrideFields, (warning) => this.log.warn({ model: name }, warning));
      if (config.name !== undefined && config.name !== name) {
        throw new Error(`${MODEL_CONFIG_FILE} of model directory "${name}" names the model "${config.name}"; they must agree`);
      }
      const onDisk = (await this.paths.directories(dir)).flatMap((d) => parseVersion(d) ?? []);
      const chosen = choosePolicyVersions(config, onDisk);
      if (chosen.length === 0) throw new Error(`model "${name}" has no version directories matching its version_policy in ${dir}`);
      // Checked before any version is built: a policy that cannot be served is refused cheaply.
      const rollout = config.rollout && resolveRollout(name, config.rollout, chosen);
      for (const version of chosen) {
        const bytes = await readVerifiedModel(this.paths, versionDirectory(dir, version), this.log);
        loaded.push(await ModelVersion.load(name, version, config, bytes, this.log, this.onExecution));
      }
      const previous = [...entry.versions.values()];
      entry.versions = new Map(loaded.map((v) => [v.version, v]));
      entry.config = config;
      const previousPolicy = entry.rollout?.policyId;
      entry.rollout = rollout;
      this.setState(name, entry, "READY", "");
      if (rollout && rollout.policyId !== previousPolicy) this.emit("rollout", rollout);
      for (const v of loaded) {
        this.log.info(
          { model: name, version: v.version, provider: v.provider.provider, fallbacks: v.provider.fallbacks, ms: Date.now() - started },
          `model ${v.label} ready on ${v.provider.provider}`,
        );
      }
      await Promise.all(previous.map((v) => v.unload()));
    } catch (error) {
      await Promise.all(loaded.map((v) => v.unload()));
      const message = (error as Error).message;
      if (serving) {
        this.log.error({ model: name, err: error }, `reload of model ${name} failed; the loaded versions keep serving`);
      } else {
        this.setState(name, entry, "UNAVAILABLE", message);
      }
      throw error;
    }
  }

  private setState(name: string, entry: ModelEntry, state: ModelState, reason: string): void {
    entry.state = state;
    entry.reason = reason;
    this.emit("change", name, state);
  }

  private exclusive(name: string, work: () => Promise<void>): Promise<void> {
    const next = (this.locks.get(name) ?? Promise.resolve()).then(work);
    this.locks.set(
      name,
      next.catch(() => undefined),
    );
    return next;
  }
}

import { readdir, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative } from "node:path";

/**
 * One rule for what the model repository may read, at start-up and on RepositoryModelLoad alike:
 * - a symbolic link is followed when its target lies inside the repository (mounted volumes and
 *   `..data`-style deployments link within it) and refused, with the reason, when it leads out;
 * - model files are read only when they are regular files: a FIFO or a device would block the
 *   read, and with it the model's lock, forever.
 * Messages name paths relative to the repository, never the machine's layout.
 */
export class RepositoryPaths {
  private realRoot: Promise<string> | undefined;

  constructor(readonly root: string) {}

  /** `path` relative to the repository, for messages. */
  shown(path: string): string {
    return relative(this.root, path) || ".";
  }

  /** The real path of `path` when it (after following links) lies inside the repository, else undefined. */
  async inside(path: string): Promise<string | undefined> {
    const root = await this.realRootPath();
    const real = await realpath(path).catch(() => undefined);
    if (real === undefined) return undefined;
    const within = relative(root, real);
    return within === "" || (!within.startsWith("..") && !isAbsolute(within)) ? real : undefined;
  }

  /**
   * Names of the entries of `dir` that are directories or links to directories. Links that lead
   * out are listed too, so the start-up scan tries them and refuses them with the reason, as a
   * RepositoryModelLoad does (requireDirectory, requireRegularFile).
   */
  async directories(dir: string): Promise<string[]> {
    await this.realRootPath();
    const entries = await readdir(dir, { withFileTypes: true });
    const names: string[] = [];
    for (const entry of entries) {
      if (entry.isDirectory()) names.push(entry.name);
      else if (
        entry.isSymbolicLink() &&
        (await stat(join(dir, entry.name)).then(
          (s) => s.isDirectory(),
          () => false,
        ))
      )
        names.push(entry.name);
    }
    return names.sort();
  }

  /** Throws, naming the reason, unless `dir` is a directory inside the repository. */
  async requireDirectory(dir: string, what: string): Promise<void> {
    const real = await this.inside(dir);
    if (real === undefined) {
      const exists = await stat(dir).then(
        () => true,
        () => false,
      );
      throw new Error(exists ? `${what} ${this.shown(dir)} links outside the model repository; refused` : `${what} ${this.shown(dir)} does not exist`);
    }
    if (!(await stat(real)).isDirectory()) throw new Error(`${what} ${this.shown(dir)} is not a directory`);
  }

  /** Throws unless `path` is a regular file inside the repository; `optional` files may be missing (false). */
  async requireRegularFile(path: string, what: string, optional = false): Promise<boolean> {
    const real = await this.inside(path);
    if (real === undefined) {
      const exists = await stat(path).then(
        () => true,
        () => false,
      );
      if (!exists && optional) return false;
      throw new Error(exists ? `${what} ${this.shown(path)} links outside the model repository; refused` : `${what} ${this.shown(path)} does not exist`);
    }
    if (!(await stat(real)).isFile()) throw new Error(`${what} ${this.shown(path)} is not a regular file; refused`);
    return true;
  }

  private realRootPath(): Promise<string> {
    this.realRoot ??= realpath(this.root).catch((error: NodeJS.ErrnoException) => {
      this.realRoot = undefined;
      throw new Error(
        error.code === "ENOENT" ? `model repository ${this.root} does not exist` : `cannot read the model repository ${this.root}: ${error.message}`,
      );
    });
    return this.realRoot;
  }
}

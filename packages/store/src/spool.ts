import { randomUUID } from "node:crypto";
import { open, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { PRIVATE_FILE_MODE, ensurePrivateDirectory } from "./private-files.js";

/** A batch of JSON lines with the token that makes re-inserting it a no-op. */
export interface Batch {
  seq: number;
  token: string;
  rows: number;
  body: Buffer;
}

export interface SpooledBatch {
  seq: number;
  token: string;
  bytes: number;
  file: string;
}

/** Inserts into a list kept in sequence order. */
export function insertBySeq<T extends { seq: number }>(list: T[], item: T): void {
  const at = list.findIndex((e) => e.seq > item.seq);
  if (at < 0) list.push(item);
  else list.splice(at, 0, item);
}

const FILE = /^(\d{12})-([0-9a-f-]{36})\.jsonl$/;

/**
 * Append-only directory of batches waiting for the engine, one file each, named by sequence
 * number so replay is oldest first. Files are written to a temporary name, fsynced, then
 * renamed, so a crash never leaves a half batch under a real name.
 */
export class Spool {
  private entries: SpooledBatch[] = [];
  private totalBytes = 0;

  constructor(readonly dir: string) {}

  /** Loads what a previous run left behind and returns the next free sequence number. */
  async open(): Promise<number> {
    ensurePrivateDirectory(this.dir);
    const names = await readdir(this.dir);
    for (const name of names) if (name.endsWith(".tmp")) await rm(join(this.dir, name), { force: true });
    this.entries = [];
    for (const name of names.sort()) {
      const match = FILE.exec(name);
      if (!match) continue;
      const file = join(this.dir, name);
      this.entries.push({ seq: Number(match[1]), token: match[2]!, bytes: (await stat(file)).size, file });
    }
    this.totalBytes = this.entries.reduce((a, e) => a + e.bytes, 0);
    return (this.entries.at(-1)?.seq ?? 0) + 1;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get batches(): number {
    return this.entries.length;
  }

  oldest(): SpooledBatch | undefined {
    return this.entries[0];
  }

  async write(batch: Batch): Promise<void> {
    const name = `${String(batch.seq).padStart(12, "0")}-${batch.token}.jsonl`;
    const file = join(this.dir, name);
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      const handle = await open(tmp, "w", PRIVATE_FILE_MODE);
      try {
        await handle.writeFile(batch.body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
    } catch (error) {
      // A half-written file on a full disk would keep it full after space is freed.
      await rm(tmp, { force: true });
      throw error;
    }
    const entry = { seq: batch.seq, token: batch.token, bytes: batch.body.length, file };
    insertBySeq(this.entries, entry);
    this.totalBytes += entry.bytes;
  }

  async read(entry: SpooledBatch): Promise<Batch> {
    const body = await readFile(entry.file);
    let rows = 0;
    for (const byte of body) if (byte === 0x0a) rows++;
    return { seq: entry.seq, token: entry.token, rows, body };
  }

  async remove(entry: SpooledBatch): Promise<void> {
    await rm(entry.file, { force: true });
    const index = this.entries.indexOf(entry);
    if (index >= 0) this.entries.splice(index, 1);
    this.totalBytes -= entry.bytes;
  }
}

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Spool } from "./spool.js";

const mode = async (path: string) => (await stat(path)).mode & 0o777;

test("spooled batches hold clients' inputs, so the spool is readable by its owner only, even where the directory already existed", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "vigil-spool-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const fresh = new Spool(join(root, "new", "predictions"));
  await fresh.open();
  await fresh.write({ seq: 1, token: randomUUID(), rows: 1, body: Buffer.from('{"a":1}\n') });
  const [file] = await readdir(fresh.dir);
  assert.deepEqual([await mode(join(root, "new")), await mode(fresh.dir), await mode(join(fresh.dir, file!))], [0o700, 0o700, 0o600]);

  const existing = join(root, "old");
  await mkdir(existing, { mode: 0o755 });
  await new Spool(existing).open();
  assert.equal(await mode(existing), 0o700);
});

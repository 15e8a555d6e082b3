import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { writeModelVersion } from "./index.js";

test("a version is written whole with its checksum line; an existing one is refused unless replaced; no staging directory is left", async () => {
  const modelDir = await mkdtemp(join(tmpdir(), "vigil-write-version-"));
  try {
    const model = Uint8Array.of(1, 2, 3, 4);
    const { dir, sha256 } = await writeModelVersion(modelDir, 3, { model, reference: '{"features":[1]}\n' });
    assert.equal(dir, join(modelDir, "3"));
    assert.equal(sha256, createHash("sha256").update(model).digest("hex"));
    assert.equal(await readFile(join(dir, "model.onnx.sha256"), "utf8"), `${sha256}  model.onnx\n`);
    assert.deepEqual(await readFile(join(dir, "model.onnx")), Buffer.from(model));
    assert.equal(await readFile(join(dir, "reference.jsonl"), "utf8"), '{"features":[1]}\n');

    await assert.rejects(writeModelVersion(modelDir, 3, { model: Uint8Array.of(9) }), /version 3 already exists/);
    assert.deepEqual(await readFile(join(dir, "model.onnx")), Buffer.from(model), "the refused write changed nothing");

    await writeModelVersion(modelDir, 3, { model: Uint8Array.of(9) }, { replace: true });
    assert.deepEqual((await readdir(dir)).sort(), ["model.onnx", "model.onnx.sha256"], "a replaced version keeps none of the old files");
    assert.deepEqual(await readdir(modelDir), ["3"]);
  } finally {
    await rm(modelDir, { recursive: true, force: true });
  }
});

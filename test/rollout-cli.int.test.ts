import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { readModelConfig } from "@vigil/model-repository";
import { listRolloutEvents, saveRolloutEvent } from "@vigil/store";
import { addDemoModel, tempRepository } from "./support/models.js";
import { openTestStore } from "./support/recording.js";
import { BASE_MS, insertRolloutRows, shuffleCandidateLabels, startedEvent, traffic } from "./support/rollout.js";
import { tempDir } from "./support/store.js";
import { VIGIL_MAIN, storeEnv } from "./support/vigil.js";

const execute = promisify(execFile);

/**
 * `vigil rollout` in its own process over an embedded store the test filled with a canary whose
 * labels were shuffled: status prints the verdict, rollback records it, promote rewrites config.json.
 */
describe("vigil rollout status, rollback and promote", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let env: NodeJS.ProcessEnv;
  let monitorFile: string;
  const configPath = () => join(repo.path, "flights", "config.json");

  const vigil = (...args: string[]) => execute(process.execPath, ["--import", "tsx", VIGIL_MAIN, ...args], { env, encoding: "utf8" });
  const failure = (...args: string[]) =>
    vigil(...args).then(
      () => assert.fail(`expected vigil ${args.join(" ")} to fail`),
      (e: { code: number; stderr: string }) => e,
    );
  /** The embedded store admits one process at a time: the test opens it only between commands. */
  const withStore = async <T>(use: (store: Awaited<ReturnType<typeof openTestStore>>) => Promise<T>): Promise<T> => {
    const store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    try {
      await store.ready();
      return await use(store);
    } finally {
      await store.close();
    }
  };

  before(async () => {
    dirs = await tempDir("vigil-rollout-cli-");
    repo = await tempRepository();
    await addDemoModel(repo.path);
    await cp(join(repo.path, "flights", "1"), join(repo.path, "flights", "2"), { recursive: true });
    const original = JSON.parse(await readFile(configPath(), "utf8")) as Record<string, unknown>;
    await writeFile(
      configPath(),
      JSON.stringify({ ...original, version_policy: { specific: [1, 2] }, rollout: { mode: "canary", candidate: 2, canary_weight: 0.2 } }, null, 2),
    );
    monitorFile = join(dirs.path, "monitor.json");
    await writeFile(monitorFile, JSON.stringify({ window: "1m" }));
    env = { ...process.env, ...storeEnv(dirs.path), VIGIL_MODEL_REPOSITORY: repo.path, VIGIL_LOG_LEVEL: "error" };
    const policy = readModelConfig(configPath()).rollout!;
    await withStore(async (store) => {
      const rows = shuffleCandidateLabels(
        traffic("canary", 21, { rows: 3000, candidateShare: 0.2, primaryAccuracy: 0.8, candidateAccuracy: 0.8, windows: 3 }),
        22,
      );
      await insertRolloutRows(store.engine, "flights", rows);
      await saveRolloutEvent(store.engine, startedEvent("flights", policy, "1", BASE_MS));
    });
  });

  after(async () => {
    await repo?.remove();
    await dirs?.remove();
  });

  test("status prints the verdict sentence and the versions' figures", async () => {
    const { stdout } = await vigil("rollout", "status", "--model", "flights", "--monitor-config", monitorFile);
    const lines = stdout.split("\n");
    assert.match(lines[0]!, /^model flights: canary of version 2 against 1, active \(policy [0-9a-f]{16}\)$/);
    assert.match(lines[1]!, /^candidate worse than primary: accuracy 0\.\d\d vs 0\.\d\d \(-0\.\d\d, 95% CI -0\.\d\d to -0\.\d\d\), n = [\d,]+ rows$/);
    assert.match(stdout, /^primary\s+1\s+[\d,]+\s+[\d,]+\s+0\.\d{3}/m);
    assert.match(stdout, /^canary\s+2\s+[\d,]+\s+[\d,]+\s+0\.\d{3}/m);
    assert.match(stdout, /^accuracy\s+-?\d+\.\d{3}\s+\S+\s+\S+\s+worse$/m);
    assert.match((await failure("rollout", "status", "--model", "nope")).stderr, /model "nope" is not in the repository .* \(models: flights\)/);
  });

  test("rollback records 'rolled_back' by the command line with the reason; status then says so", async () => {
    assert.match((await failure("rollout", "rollback", "--model", "flights", "--reason", " ")).stderr, /--reason must say why/);
    const { stdout } = await vigil("rollout", "rollback", "--model", "flights", "--reason", "paged: checkout errors");
    assert.match(stdout, /candidate version 2 rolled back/);
    const events = await withStore((store) => listRolloutEvents(store.engine, { model: "flights" }));
    const rollback = events.find((e) => e.action === "rolled_back")!;
    assert.deepEqual([rollback.actor, rollback.reason, rollback.candidateVersion], ["cli", "paged: checkout errors", "2"]);
    const status = (await vigil("rollout", "status", "--model", "flights", "--monitor-config", monitorFile)).stdout;
    assert.match(status, /, rolled back \(policy/);
    const judgedTo = new Date(rollback.judgedToMs!).toISOString();
    assert.equal(rollback.judgedToMs, rollback.timestampMs, "a person's rollback rests on every row up to it");
    assert.match(status, new RegExp(`^look \\d+, rows from \\S+ to ${judgedTo.replaceAll(".", "\\.")} \\(as rolled back\\)$`, "m"));
  });

  test("promote rewrites config.json atomically (rollout gone, the candidate loaded alone, the rest kept) and records 'promoted'", async () => {
    const before = JSON.parse(await readFile(configPath(), "utf8")) as Record<string, unknown>;
    const policyId = (await withStore((store) => listRolloutEvents(store.engine, { model: "flights" })))[0]!.policyId;
    // Nothing listens there: the config is promoted, and the command says the reload failed.
    const refused = await failure("rollout", "promote", "--model", "flights", "--server", "127.0.0.1:1");
    assert.match(refused.stderr, /the server at 127\.0\.0\.1:1 did not reload flights/);
    const after = JSON.parse(await readFile(configPath(), "utf8")) as Record<string, unknown>;
    const { rollout: _, version_policy: __, ...kept } = before;
    assert.deepEqual(after, { ...kept, version_policy: { specific: [2] } });
    assert.equal(readModelConfig(configPath()).rollout, undefined, "the new file is a valid config");
    const promoted = (await withStore((store) => listRolloutEvents(store.engine, { model: "flights" }))).filter((e) => e.action === "promoted");
    assert.deepEqual(
      promoted.map((e) => [e.actor, e.policyId, e.candidateVersion]),
      [["cli", policyId, "2"]],
    );
    assert.match(
      (await failure("rollout", "promote", "--model", "flights", "--no-reload")).stderr,
      /model flights has no rollout in .*config\.json: nothing to promote/,
    );
  });
});

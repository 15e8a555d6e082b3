import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { LeaderLease } from "@vigil/monitor";
import { EmbeddedEngine, insertLeaseClaim, migrate, readLeaseTerm } from "@vigil/store";
import { eventually, tempDir } from "./support/store.js";

/** The monitor lease's protocol (store tables/monitor-lease.ts) over one engine; the process-level failover is in monitor-failover.test.ts. */
describe("monitor lease", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let engine: EmbeddedEngine;

  before(async () => {
    dirs = await tempDir("vigil-lease-");
    engine = new EmbeddedEngine(dirs.path);
    await migrate(engine);
  });
  after(async () => {
    await engine.close();
    await dirs.remove();
  });

  test("the earliest claim of the highest term holds; a renewal extends only its holder's expiry", async () => {
    await insertLeaseClaim(engine, { name: "t1", term: 1, holder: "a", ttlMs: 60_000 });
    await insertLeaseClaim(engine, { name: "t1", term: 1, holder: "b", ttlMs: 120_000 });
    let current = await readLeaseTerm(engine, "t1");
    assert.equal(current?.holder.holder, "a", "the first claim wins its term");
    assert.deepEqual(
      current?.claims.map((c) => c.holder),
      ["a", "b"],
    );
    const firstExpiry = current!.holder.expiresAtMs;
    await insertLeaseClaim(engine, { name: "t1", term: 1, holder: "a", ttlMs: 90_000, claimedAtMs: current!.holder.claimedAtMs });
    current = await readLeaseTerm(engine, "t1");
    assert.equal(current?.holder.holder, "a", "a renewal keeps the holder");
    assert.ok(current!.holder.expiresAtMs > firstExpiry, "and moves its expiry on");
    await insertLeaseClaim(engine, { name: "t1", term: 2, holder: "c", ttlMs: 60_000 });
    current = await readLeaseTerm(engine, "t1");
    assert.deepEqual([current?.term, current?.holder.holder], [2, "c"], "a higher term supersedes every claim of a lower one");
    assert.equal(await readLeaseTerm(engine, "unclaimed"), undefined);
  });

  test("four candidates racing: one holds at a time, and a standby takes over when the holder lets go", { timeout: 120_000 }, async () => {
    let holding = 0;
    let mostAtOnce = 0;
    const acquired: string[] = [];
    const errors: Error[] = [];
    const candidates = ["w", "x", "y", "z"].map(
      (holder) =>
        new LeaderLease(engine, {
          name: "race",
          holder,
          ttlMs: 3000,
          settleMs: 300,
          onAcquire: async () => {
            acquired.push(holder);
            holding++;
            mostAtOnce = Math.max(mostAtOnce, holding);
          },
          onRelease: async () => {
            holding--;
          },
          onError: (error) => errors.push(error),
        }),
    );
    for (const c of candidates) c.start();
    try {
      const first = await eventually(async () => candidates.find((c) => c.leader), Boolean, "a holder");
      // Several renewal periods with every candidate checking: nobody else may take it.
      await new Promise((r) => setTimeout(r, 7000));
      assert.equal(acquired.length, 1, `one tenure while the holder renews (${acquired.join(", ")})`);
      assert.ok(first!.leader, "the holder kept it");
      await first!.stop();
      await eventually(
        async () => candidates.filter((c) => c !== first && c.leader).length,
        (n) => n === 1,
        "a standby to take over",
      );
      assert.equal(acquired.length, 2);
      assert.notEqual(acquired[1], acquired[0]);
    } finally {
      for (const c of candidates) await c.stop();
    }
    assert.equal(mostAtOnce, 1, "never two holders at once");
    assert.equal(holding, 0, "every tenure ended");
    assert.deepEqual(errors, []);
  });
});

import { EmbeddedEngine } from "@vigil/store";

/**
 * A process that opens the embedded store, writes, closes it, and then hangs in an exit
 * handler, as libchdb's teardown can: the exit watchdog has to end it.
 */
const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: hang-on-exit.ts <data directory>");
const engine = new EmbeddedEngine(dataDir);
await engine.command("CREATE TABLE IF NOT EXISTS t (n UInt32) ENGINE = MergeTree ORDER BY n");
await engine.command("INSERT INTO t VALUES (1)");
await engine.close();
process.on("exit", () => {
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
});
process.stdout.write("closed\n");
process.exit(0);

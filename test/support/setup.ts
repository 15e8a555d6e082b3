import { after } from "node:test";
import { killAllProcesses } from "./processes.js";

/**
 * Preloaded into every test file's process by scripts/test.sh. Once a file's tests are done,
 * the processes they started are killed, and the file gets a bounded time to exit: a handle
 * left open (a server never closed) would otherwise keep it, and the whole run, waiting. A file
 * that has to be ended this way fails.
 */
const FILE_EXIT_GRACE_MS = 15_000;

// The runner's own process loads this too; only the processes that run a test file have tests.
if (process.env.NODE_TEST_CONTEXT) {
  after(() => {
    killAllProcesses();
    setTimeout(() => {
      process.stderr.write(`test file still running ${FILE_EXIT_GRACE_MS / 1000} s after its last test (a handle left open); ending it as failed\n`);
      process.exit(1);
    }, FILE_EXIT_GRACE_MS).unref();
  });
}

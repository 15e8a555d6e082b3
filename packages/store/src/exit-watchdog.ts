import { spawn } from "node:child_process";

/**
 * Native libraries can run exit handlers that never return (libchdb's can deadlock on a mutex),
 * and once the process is inside them no JavaScript runs, so no signal handler can help. A tiny
 * shell process started at exit watches this one: it ends as soon as this process is gone, and
 * kills it if it is still exiting after the grace period. By then everything JavaScript could do
 * (flushing writers, spooling, closing connections) has finished, so nothing is lost; the parent
 * sees SIGKILL and stderr says why.
 */
const WATCHDOG_SCRIPT = `
pid=$1; ticks=$2; what=$3; i=0
while [ -d "/proc/$pid" ]; do
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)
  if [ -z "$state" ] || [ "$state" = Z ]; then exit 0; fi
  if [ "$i" -ge "$ticks" ]; then
    echo "vigil: process $pid was still exiting after $((ticks / 10)) s: $what hung in its teardown after all data was written; killed it" >&2
    kill -9 "$pid" 2>/dev/null
    exit 0
  fi
  sleep 0.1
  i=$((i + 1))
done`;

let armed: { graceMs: number; what: Set<string> } | undefined;

/**
 * Makes sure this process cannot hang on exit for longer than `graceMs` because of `what`
 * (a native component, named in the message). Idempotent; the longest grace asked for wins.
 */
export function armExitWatchdog(graceMs: number, what: string): void {
  if (armed) {
    armed.graceMs = Math.max(armed.graceMs, graceMs);
    armed.what.add(what);
    return;
  }
  const state = { graceMs, what: new Set([what]) };
  armed = state;
  process.once("exit", () => {
    const ticks = Math.ceil(state.graceMs / 100);
    try {
      spawn("/bin/sh", ["-c", WATCHDOG_SCRIPT, "vigil-exit-watchdog", String(process.pid), String(ticks), [...state.what].join(" and ")], {
        detached: true,
        stdio: ["ignore", "ignore", "inherit"],
      }).unref();
    } catch {
      // Exiting anyway: without /bin/sh there is no watchdog, and nothing else to do here.
    }
  });
}

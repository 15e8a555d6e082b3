import { readFile } from "node:fs/promises";

/** Resident set size of a process, from /proc (Linux). */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** Sums every series of a metric in Prometheus' text format (0 when absent). */
export function metric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** Least-squares slope of ys against xs (0 for fewer than two distinct xs). */
export function linearSlope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Resolves with the first line `test` accepts, or rejects when the child exits first. */
export function waitForLine(lines: string[], child: { exitCode: number | null }, test: (line: string) => boolean, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const found = lines.find(test);
      if (found) {
        clearInterval(timer);
        resolve(found);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`the child process exited (${child.exitCode}) before printing ${what}`));
      }
    }, 200);
  });
}

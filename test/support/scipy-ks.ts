import { execFileSync } from "node:child_process";
import { join } from "node:path";

/** scipy.stats.ks_2samp's figures for one pair of samples: "auto" mode's statistic and p, and asymptotic mode's p. */
export interface ScipyKs {
  statistic: number;
  p: number;
  p_asymp: number;
}

/** Asks Debian's python3 (which has python3-scipy; the pyenv one on PATH does not) for ks_2samp of every pair. */
export function scipyKs(pairs: Array<{ a: number[]; b: number[] }>): ScipyKs[] {
  const output = execFileSync("/usr/bin/python3", [join(import.meta.dirname, "..", "python", "ks_reference.py")], {
    input: JSON.stringify(pairs),
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(output.toString()) as ScipyKs[];
}

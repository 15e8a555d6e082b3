import { execFileSync } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";

let described: string | undefined;

/**
 * The 1-minute load average as this benchmark process starts (the module loads first thing): how
 * much other work the machine was already doing, which the figures share its cores with.
 */
const loadAtStart = loadavg()[0]!;

/** The GPUs nvidia-smi lists, or "no GPU" when there is none (or no driver); asked once per process. */
export function gpuDescription(): string {
  described ??= askNvidiaSmi();
  return described;
}

function askNvidiaSmi(): string {
  try {
    const names = execFileSync("nvidia-smi", ["--query-gpu=name,memory.total", "--format=csv,noheader"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return names ? `GPU ${names.split("\n").join("; ")}` : "no GPU";
  } catch {
    return "no GPU";
  }
}

/** What every benchmark section states about the machine it ran on. */
export function machineLine(): string {
  return `Machine: ${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${gpuDescription()}, Node ${process.version}, load average ${loadAtStart.toFixed(2)} (1 min) as the benchmark started`;
}

import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";

let described: string | undefined;

/** The GPUs nvidia-smi lists, or "no GPU" when there is none (or no driver); asked once per process. */
export function gpuDescription(): string {
  described ??= askNvidiaSmi();
  return described;
}

function askNvidiaSmi(): string {
  try {
    const names = execFileSync("nvidia-smi", ["--query-gpu=name,memory.total", "--format=csv,noheader"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return names ? `GPU ${names.split("\n").join("; ")}` : "no GPU";
  } catch {
    return "no GPU";
  }
}

/** What every benchmark section states about the machine it ran on. */
export function machineLine(): string {
  return `Machine: ${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${gpuDescription()}, Node ${process.version}`;
}

import { readFile, writeFile } from "node:fs/promises";

const HEADER =
  "# Benchmarks\n\nEvery number here was written by a script in `bench/`; rerun it to reproduce. Ratios compare against a baseline measured in the same run.\n";

/** Replaces (or appends) one `## title` section of the benchmarks file, keeping the others. */
export async function writeBenchmarkSection(path: string, title: string, body: string): Promise<void> {
  const current = await readFile(path, "utf8").catch(() => HEADER);
  const heading = `## ${title}\n`;
  const section = `${heading}\n${body.trim()}\n`;
  const start = current.indexOf(heading);
  if (start < 0) {
    await writeFile(path, `${current.trimEnd()}\n\n${section}`);
    return;
  }
  const next = current.indexOf("\n## ", start + heading.length);
  const end = next < 0 ? current.length : next + 1;
  await writeFile(path, `${current.slice(0, start)}${section}${next < 0 ? "" : "\n"}${current.slice(end)}`);
}

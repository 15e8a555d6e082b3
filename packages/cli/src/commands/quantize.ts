import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { choosePolicyVersions, loadServerConfig } from "@vigil/inference";
import { type ReferenceRow, referenceRows } from "@vigil/monitor";
import {
  MODEL_CHECKSUM_FILE,
  MODEL_CONFIG_FILE,
  MODEL_FILE,
  type ModelConfig,
  REFERENCE_FILE,
  answerOfScores,
  checksumMismatch,
  parseVersion,
  versionDirectory,
  versionsOnDisk,
  writeModelVersion,
} from "@vigil/model-repository";
import {
  type Int8Comparison,
  NothingToQuantizeError,
  type QuantizedWeight,
  compareInt8,
  formatInt8Comparison,
  openScoringSession,
  quantizeDynamicInt8,
  scoreRows,
} from "@vigil/onnx";
import type { CliEnv } from "../env.js";
import { integer } from "../options.js";
import { repositoryModel } from "../tool-store.js";

export interface QuantizeRequest {
  repository: string;
  model: string;
  version: string;
  /** The version to write; the highest present + 1 when absent. */
  target?: number;
  /** Labelled rows (reference-file format with "label") to compare the two versions on. */
  compareFile?: string;
}

export interface QuantizeSummary {
  target: number;
  weights: QuantizedWeight[];
  bytesBefore: number;
  bytesAfter: number;
  sha256: string;
  /** Reference rows rescored with the int8 model, or why none were written. */
  reference: { rows: number } | { skipped: string };
  /** What to change in config.json for the server to load the new version, or what loading it will do. */
  policyNote?: string;
  comparison?: Int8Comparison;
}

/** Refuses a model file that does not match its published checksum: quantizing it would launder it under a fresh one. */
async function readPublishedModel(dir: string, label: string): Promise<Uint8Array> {
  const bytes = await readFile(join(dir, MODEL_FILE));
  const checksumFile = join(dir, MODEL_CHECKSUM_FILE);
  if (existsSync(checksumFile)) {
    const mismatch = checksumMismatch(bytes, await readFile(checksumFile, "utf8"), { model: `${label} ${MODEL_FILE}`, checksum: MODEL_CHECKSUM_FILE });
    if (mismatch) throw new Error(`${mismatch}; refusing to quantize it`);
  }
  return bytes;
}

/**
 * How a reference row's features (the monitored features, in config order) become the model's
 * input row: possible when the model has one FP32 input with a batch dimension and the monitored
 * features name each of its columns once. Otherwise the reason it is not.
 */
function inputMapping(config: ModelConfig): { width: number; columnOf: number[] } | { reason: string } {
  const [input, ...others] = config.inputs;
  if (!input || others.length > 0) return { reason: `the model has ${config.inputs.length} inputs; reference rows map onto a model with one` };
  if (input.datatype !== "FP32" || config.max_batch_size === 0 || input.dims.length !== 1 || input.dims[0]! < 1) {
    return { reason: `input "${input.name}" is not an FP32 row of fixed width with a batch dimension` };
  }
  const width = input.dims[0]!;
  const columnOf = config.monitored_features.map((f) => (f.input === input.name ? f.column : -1));
  const covered = new Set(columnOf.filter((c) => c >= 0));
  if (covered.size !== width || columnOf.length !== width) {
    return { reason: `monitored_features do not name each of the ${width} columns of input "${input.name}" once, so reference rows cannot be fed back in` };
  }
  return { width, columnOf };
}

function inputRow(features: number[], columnOf: number[], width: number): Float32Array {
  const row = new Float32Array(width);
  columnOf.forEach((column, i) => {
    row[column] = features[i] ?? Number.NaN;
  });
  return row;
}

/** Every row of a reference-format file, kept whole so fields this command does not rewrite (label, ...) pass through. */
async function readReferenceLines(path: string): Promise<ReferenceRow[]> {
  const rows: ReferenceRow[] = [];
  for await (const row of referenceRows(path)) rows.push(row);
  return rows;
}

/** What the prediction log records for one row of scores, left out of the reference row when there is nothing to record. */
function answerOf(scores: Float32Array, classes: string[] | undefined): { prediction?: string; confidence?: number } {
  const answer = answerOfScores(scores, classes);
  if (answer.prediction === "") return {};
  return classes ? answer : { prediction: answer.prediction };
}

/** The reference rows with what the int8 model answers for each (scored one row at a time, as an unbatched request is). */
async function rescoreReference(model: Uint8Array, config: ModelConfig, rows: ReferenceRow[], mapping: { width: number; columnOf: number[] }): Promise<string> {
  const scoring = await openScoringSession(model, mapping.width, config.outputs[0]?.name);
  try {
    const { scores, classes } = await scoreRows(
      scoring,
      rows.map((r) => inputRow(r.features, mapping.columnOf, mapping.width)),
    );
    return rows
      .map((row, i) => {
        const own = scores.subarray(i * classes, (i + 1) * classes);
        const { prediction: _p, confidence: _c, ...kept } = row;
        return JSON.stringify({ ...kept, ...answerOf(own, config.classes), ...("scores" in row ? { scores: Array.from(own) } : {}) });
      })
      .join("\n")
      .concat("\n");
  } finally {
    await scoring.session.release();
  }
}

function policyNote(config: ModelConfig, versions: number[], target: number): string | undefined {
  const loadedNow = choosePolicyVersions(config, versions);
  const loadedAfter = choosePolicyVersions(config, [...versions, target]);
  const policy = JSON.stringify(config.version_policy);
  if (!loadedAfter.includes(target)) {
    const suggestion = "specific" in config.version_policy ? `{"specific": [${[...config.version_policy.specific, target].join(", ")}]}` : `{"all": true}`;
    return `version_policy ${policy} does not load version ${target}: set "version_policy": ${suggestion} in ${MODEL_CONFIG_FILE} to serve it (config.json was not changed)`;
  }
  const replaced = loadedNow.filter((v) => !loadedAfter.includes(v));
  if (replaced.length === 0) return undefined;
  return `version_policy ${policy} now loads version ${target} in place of version ${replaced.join(", ")} once the server reloads the model`;
}

/** Labelled rows for --compare: reference-format lines whose "label" is one of the model's classes. */
async function labelledRows(path: string, config: ModelConfig, mapping: { width: number; columnOf: number[] }) {
  const classes = config.classes;
  if (!classes) throw new Error(`--compare needs the model's "classes" in ${MODEL_CONFIG_FILE}, to match labels to scores`);
  const lines = await readReferenceLines(path);
  if (lines.length === 0) throw new Error(`${path} holds no rows`);
  const labels = lines.map((line, i) => {
    const index = typeof line.label === "string" ? classes.indexOf(line.label) : -1;
    if (index < 0) throw new Error(`${path} row ${i + 1}: "label" must be one of the classes ${classes.join(", ")}`);
    return index;
  });
  return { rows: lines.map((l) => inputRow(l.features, mapping.columnOf, mapping.width)), labels };
}

/**
 * Writes an int8 variant of one model version as a new version: quantized model file, its own
 * checksum, and the source version's reference rows rescored by the int8 model. config.json is
 * left alone.
 */
export async function quantizeModelVersion(request: QuantizeRequest): Promise<QuantizeSummary> {
  const { dir: modelDir, config } = repositoryModel(request.repository, request.model);
  const versions = versionsOnDisk(modelDir);
  const source = parseVersion(request.version);
  if (source === undefined || !versions.includes(source)) {
    throw new Error(`model "${request.model}" has no version "${request.version}" (versions: ${versions.join(", ") || "none"})`);
  }
  const target = request.target ?? Math.max(...versions) + 1;
  if (versions.includes(target) || existsSync(versionDirectory(modelDir, target))) {
    throw new Error(`version ${target} of model "${request.model}" already exists; choose a free version with --to`);
  }
  const sourceDir = versionDirectory(modelDir, source);
  const float = await readPublishedModel(sourceDir, `model "${request.model}" version ${source}`);

  let quantized: ReturnType<typeof quantizeDynamicInt8>;
  try {
    quantized = quantizeDynamicInt8(float);
  } catch (error) {
    if (error instanceof NothingToQuantizeError) {
      throw new Error(`model "${request.model}" version ${source} has no MatMul or Gemm with a float weight matrix in the file: nothing to quantize`);
    }
    throw error;
  }

  const mapping = inputMapping(config);
  const referencePath = join(sourceDir, REFERENCE_FILE);
  let reference: string | undefined;
  let referenceOutcome: QuantizeSummary["reference"];
  if (!existsSync(referencePath)) referenceOutcome = { skipped: `version ${source} has no ${REFERENCE_FILE}` };
  else if ("reason" in mapping) referenceOutcome = { skipped: mapping.reason };
  else {
    const rows = await readReferenceLines(referencePath);
    reference = await rescoreReference(quantized.model, config, rows, mapping);
    referenceOutcome = { rows: rows.length };
  }

  let comparison: Int8Comparison | undefined;
  if (request.compareFile) {
    if ("reason" in mapping) throw new Error(`--compare: ${mapping.reason}`);
    const labelled = await labelledRows(request.compareFile, config, mapping);
    comparison = await compareInt8({ float, int8: quantized.model, width: mapping.width, labelled, latencyRows: labelled.rows });
  }

  const { sha256 } = await writeModelVersion(modelDir, target, { model: quantized.model, reference });
  return {
    target,
    weights: quantized.weights,
    bytesBefore: quantized.bytesBefore,
    bytesAfter: quantized.bytesAfter,
    sha256,
    reference: referenceOutcome,
    policyNote: policyNote(config, versions, target),
    comparison,
  };
}

interface QuantizeOptions {
  model: string;
  version: string;
  models?: string;
  config?: string;
  to?: number;
  compare?: string;
}

export function registerQuantize(program: Command, env: CliEnv): void {
  program
    .command("quantize")
    .description("write an int8 variant of a model version (MatMul/Gemm weights quantized per channel) as a new version")
    .requiredOption("--model <name>", "model name")
    .requiredOption("--version <version>", "version to quantize")
    .option("-m, --models <dir>", "model repository directory (default: the server config's model_repository)")
    .option("-c, --config <file>", "server config JSON naming the model repository")
    .option("--to <version>", "version to write (default: the highest present + 1)", integer("to", 1))
    .option("--compare <rows.jsonl>", 'labelled rows {"features": [...], "label": "<class>"} per line: report agreement, accuracy, size and latency')
    .action(async (opts: QuantizeOptions) => {
      const repository = opts.models ?? loadServerConfig({ file: opts.config, env: env.serverEnv }).model_repository;
      const summary = await quantizeModelVersion({ repository, model: opts.model, version: opts.version, target: opts.to, compareFile: opts.compare });
      const shape = (w: QuantizedWeight) => `${w.name} ${w.rows}x${w.columns}`;
      console.log(`wrote ${opts.model} version ${summary.target}: int8 variant of version ${opts.version}`);
      console.log(`  weights   ${summary.weights.length} quantized per output channel: ${summary.weights.map(shape).join(", ")}`);
      console.log(
        `  size      ${summary.bytesBefore} -> ${summary.bytesAfter} bytes (${((100 * summary.bytesAfter) / summary.bytesBefore).toFixed(1)}% of float)`,
      );
      console.log(`  checksum  sha256 ${summary.sha256}`);
      console.log(
        "rows" in summary.reference
          ? `  reference ${summary.reference.rows} rows of version ${opts.version}, rescored with the int8 model`
          : `  reference none written (${summary.reference.skipped}); build one with: vigil profile --model ${opts.model} --version ${summary.target} --from <time>`,
      );
      if (summary.policyNote) console.log(`note: ${summary.policyNote}`);
      if (summary.comparison) for (const line of formatInt8Comparison(summary.comparison)) console.log(`  ${line}`);
    });
}

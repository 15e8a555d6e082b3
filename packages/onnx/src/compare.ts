import * as ort from "onnxruntime-node";

/** The standard normal quantile at 0.975: the two-sided 95% intervals below use it. */
const Z_95 = 1.959963984540054;

/** How two classifiers did on the same labelled rows. */
export interface PairedAccuracy {
  rows: number;
  /** Share of rows where both predicted the same class. */
  agreement: number;
  accuracyBaseline: number;
  accuracyCandidate: number;
  /** accuracyCandidate - accuracyBaseline. */
  difference: number;
  /** 95% interval for the difference (Bonett-Price adjusted Wald interval for paired proportions). */
  interval: [number, number];
  /** Rows only the baseline got right, and rows only the candidate got right: all the difference comes from these. */
  baselineOnly: number;
  candidateOnly: number;
}

/**
 * Accuracy difference of two classifiers judged on the same rows, with a 95% interval that
 * respects the pairing: the Wald interval with Bonett and Price's (2012) adjustment, which adds
 * one to each discordant count and two to n. Only rows where exactly one model is right carry
 * information about the difference; the plain Wald interval collapses to a point when there are
 * none (a well-quantized model often disagrees on no row), the adjusted one keeps a width of
 * about 2.8 / n there.
 */
export function pairedAccuracy(predictedBaseline: number[], predictedCandidate: number[], labels: number[]): PairedAccuracy {
  const n = labels.length;
  if (n === 0) throw new Error("no labelled rows to compare on");
  if (predictedBaseline.length !== n || predictedCandidate.length !== n) throw new Error("every row needs a prediction from both models and a label");
  let [baselineRight, candidateRight, baselineOnly, candidateOnly, same] = [0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const base = predictedBaseline[i] === labels[i];
    const cand = predictedCandidate[i] === labels[i];
    if (base) baselineRight++;
    if (cand) candidateRight++;
    if (cand && !base) candidateOnly++;
    if (base && !cand) baselineOnly++;
    if (predictedBaseline[i] === predictedCandidate[i]) same++;
  }
  const pCandidateOnly = (candidateOnly + 1) / (n + 2);
  const pBaselineOnly = (baselineOnly + 1) / (n + 2);
  const adjusted = pCandidateOnly - pBaselineOnly;
  const half = Z_95 * Math.sqrt((pCandidateOnly + pBaselineOnly - adjusted ** 2) / (n + 2));
  return {
    rows: n,
    agreement: same / n,
    accuracyBaseline: baselineRight / n,
    accuracyCandidate: candidateRight / n,
    difference: (candidateOnly - baselineOnly) / n,
    interval: [Math.max(-1, adjusted - half), Math.min(1, adjusted + half)],
    baselineOnly,
    candidateOnly,
  };
}

/** The index of the highest score in each row of a row-major [rows, classes] score matrix (the first on a tie). */
export function argmaxRows(scores: ArrayLike<number>, classes: number): number[] {
  const rows = scores.length / classes;
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let k = 1; k < classes; k++) if (scores[r * classes + k]! > scores[r * classes + best]!) best = k;
    return best;
  });
}

/** A float32 model as the comparison drives it: one input [batch, width], scores in the first output. */
export interface ScoringSession {
  session: ort.InferenceSession;
  input: string;
  output: string;
  width: number;
}

/**
 * One thread, so a latency figure is the model's cost and not the scheduling of a thread pool
 * shared with other work. Scores come from `output`, or the model's first output.
 */
export async function openScoringSession(model: Uint8Array, width: number, output?: string): Promise<ScoringSession> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all" });
  const input = session.inputNames[0];
  const scores = output ?? session.outputNames[0];
  if (!input || session.inputNames.length !== 1 || !scores || !session.outputNames.includes(scores)) {
    await session.release();
    throw new Error(
      `expected a model with one input and an output ${output ? `named "${output}"` : ""}; it has inputs [${session.inputNames.join(", ")}], outputs [${session.outputNames.join(", ")}]`,
    );
  }
  return { session, input, output: scores, width };
}

/**
 * The first output's values for each row, every row run on its own (batch 1): with dynamic int8
 * quantization a row's result depends on the rows batched with it, and a lone row is what an
 * unbatched request gets.
 */
export async function scoreRows(scoring: ScoringSession, rows: readonly ArrayLike<number>[]): Promise<{ scores: Float32Array; classes: number }> {
  const parts: Float32Array[] = [];
  for (const row of rows) {
    const out = await scoring.session.run({ [scoring.input]: new ort.Tensor("float32", Float32Array.from(row), [1, scoring.width]) });
    parts.push(Float32Array.from(out[scoring.output]!.data as Float32Array));
  }
  const classes = parts[0]?.length ?? 0;
  const scores = new Float32Array(parts.length * classes);
  for (const [i, p] of parts.entries()) scores.set(p, i * classes);
  return { scores, classes };
}

/** Median milliseconds of `runs` timed runs of one batch, after a few untimed ones that warm caches and the allocator. */
async function medianLatencyMs(scoring: ScoringSession, batch: Float32Array, batchSize: number, runs: number): Promise<number> {
  const feeds = { [scoring.input]: new ort.Tensor("float32", batch, [batchSize, scoring.width]) };
  for (let i = 0; i < 5; i++) await scoring.session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await scoring.session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((x, y) => x - y);
  const mid = times.length >> 1;
  return times.length % 2 === 1 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
}

export interface LatencyPair {
  batch: number;
  floatMs: number;
  int8Ms: number;
}

export interface Int8Comparison {
  bytes: { float: number; int8: number };
  latency: LatencyPair[];
  /** On labelled rows, when given. */
  quality?: PairedAccuracy;
}

export interface ComparisonInput {
  float: Uint8Array;
  int8: Uint8Array;
  /** Input width (features per row). */
  width: number;
  /** Labelled rows for agreement and accuracy; labels are class indices of the first output. */
  labelled?: { rows: readonly ArrayLike<number>[]; labels: number[] };
  /** Rows the latency batches are cut from (repeated when a batch is larger). */
  latencyRows: readonly ArrayLike<number>[];
  batchSizes?: number[];
  runs?: number;
}

function batchOf(rows: readonly ArrayLike<number>[], size: number, width: number): Float32Array {
  const out = new Float32Array(size * width);
  for (let i = 0; i < size; i++) out.set(Array.from(rows[i % rows.length]!), i * width);
  return out;
}

/**
 * The float model against its int8 variant: file sizes, median latency at each batch size (raw
 * onnxruntime, one thread, the two measured one after the other in the same process), and on labelled rows the
 * agreement of their predicted classes and the accuracy difference with its 95% interval.
 */
export async function compareInt8(input: ComparisonInput): Promise<Int8Comparison> {
  if (input.latencyRows.length === 0) throw new Error("no rows to time the models on");
  const float = await openScoringSession(input.float, input.width);
  const int8 = await openScoringSession(input.int8, input.width).catch(async (error: unknown) => {
    await float.session.release();
    throw error;
  });
  try {
    const latency: LatencyPair[] = [];
    for (const batch of input.batchSizes ?? [1, 64]) {
      const data = batchOf(input.latencyRows, batch, input.width);
      const runs = input.runs ?? 200;
      latency.push({ batch, floatMs: await medianLatencyMs(float, data, batch, runs), int8Ms: await medianLatencyMs(int8, data, batch, runs) });
    }
    let quality: PairedAccuracy | undefined;
    if (input.labelled) {
      const base = await scoreRows(float, input.labelled.rows);
      const cand = await scoreRows(int8, input.labelled.rows);
      quality = pairedAccuracy(argmaxRows(base.scores, base.classes), argmaxRows(cand.scores, cand.classes), input.labelled.labels);
    }
    return { bytes: { float: input.float.byteLength, int8: input.int8.byteLength }, latency, quality };
  } finally {
    await float.session.release();
    await int8.session.release();
  }
}

const percent = (x: number) => `${(100 * x).toFixed(2)}%`;
const points = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)}`;

/** The comparison as lines of text, for a terminal. */
export function formatInt8Comparison(c: Int8Comparison): string[] {
  const lines = [`size      float ${c.bytes.float} bytes, int8 ${c.bytes.int8} bytes (${percent(c.bytes.int8 / c.bytes.float)} of float)`];
  for (const l of c.latency) {
    lines.push(
      `batch ${String(l.batch).padEnd(4)}float ${l.floatMs.toFixed(3)} ms, int8 ${l.int8Ms.toFixed(3)} ms (median; int8/float ${(l.int8Ms / l.floatMs).toFixed(2)})`,
    );
  }
  const q = c.quality;
  if (q) {
    lines.push(
      `agreement ${percent(q.agreement)} of ${q.rows} rows predict the same class`,
      `accuracy  float ${percent(q.accuracyBaseline)}, int8 ${percent(q.accuracyCandidate)}: difference ${points(q.difference)} points, ` +
        `95% CI [${points(q.interval[0])}, ${points(q.interval[1])}] (${q.baselineOnly} rows right only in float, ${q.candidateOnly} only in int8)`,
    );
  }
  return lines;
}

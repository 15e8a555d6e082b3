import { PREDICTIONS, type ReconstructionFit, type SegmentFilter, type StoreEngine, okPredictionsIn } from "@vigil/store";
import type { FeatureSpec } from "./profiles.js";
import { featureAt, floatLiteral } from "./sql-literal.js";
import { type Window, windowParams } from "./window.js";

export type { ReconstructionFit } from "@vigil/store";

/** The monitor result (kind "drift", no feature) holding a window's mean reconstruction error. */
export const RECONSTRUCTION_ERROR = "reconstruction_error";
/** Share of the reference's variance the kept principal components explain, at least (NannyML's default). */
export const EXPLAINED_VARIANCE = 0.65;
/** Chunks the reference is cut into to measure how much its own mean error moves beyond row noise. */
const REFERENCE_CHUNKS = 10;
/** Width of the alarm band in standard errors of a window's mean error. */
const BAND_SIGMAS = 3;

/**
 * Eigenvalues and eigenvectors of a symmetric matrix by cyclic Jacobi rotations, sorted by
 * eigenvalue, largest first. Monitored inputs are few, so d is small and this converges in a
 * handful of sweeps.
 */
export function symmetricEigen(matrix: number[][]): { values: number[]; vectors: number[][] } {
  const d = matrix.length;
  const a = matrix.map((row) => [...row]);
  const v: number[][] = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p]![q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p]![q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => a[j]![j]! - a[i]![i]!);
  return { values: order.map((i) => a[i]![i]!), vectors: order.map((i) => v.map((row) => row[i]!)) };
}

/** One row's encoded, scaled and centred values, as the SQL of reconstructionDrift computes them. */
function centred(fit: ReconstructionFit, raw: number[]): number[] {
  return raw.map((value, j) => {
    const imputed = Number.isFinite(value) ? value : fit.impute[j]!;
    const frequencies = fit.frequencies[j]!;
    const encoded = fit.categorical[j] ? (imputed >= 0 && Math.round(imputed) < frequencies.length ? frequencies[Math.round(imputed)]! : 0) : imputed;
    return (encoded - fit.means[j]!) / fit.scales[j]! - fit.center[j]!;
  });
}

/** Reconstruction error of one centred row: its distance from the span of the kept components, ‖c‖² − Σ (w·c)². */
function rowError(components: number[][], c: number[]): number {
  let norm = 0;
  for (const x of c) norm += x * x;
  let projected = 0;
  for (const w of components) {
    let dot = 0;
    for (let j = 0; j < c.length; j++) dot += w[j]! * c[j]!;
    projected += dot * dot;
  }
  return Math.sqrt(Math.max(0, norm - projected));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
};

/**
 * Fits reconstruction-error drift on reference rows (NannyML's data reconstruction drift): each
 * input imputed (mean, or most frequent category), categories frequency-encoded, everything
 * standardised, then principal components kept until they explain more than EXPLAINED_VARIANCE
 * of the variance. A row's error is its distance from the span of those components; a change in
 * how the inputs move together raises it even when each input's own distribution is unchanged.
 * `columns[j]` holds input j's reference values (NaN where missing). Undefined with fewer than
 * two feature inputs or too few rows to cut the reference into chunks.
 */
export function fitReconstruction(specs: FeatureSpec[], columns: number[][]): ReconstructionFit | undefined {
  const inputs = specs.flatMap((spec, j) => ((spec.source ?? "feature") === "feature" ? [{ spec, values: columns[j]! }] : []));
  const rows = inputs[0]?.values.length ?? 0;
  if (inputs.length < 2 || rows < 2 * REFERENCE_CHUNKS) return undefined;
  const categorical = inputs.map(({ spec }) => spec.kind === "categorical");
  const impute = inputs.map(({ values }, j) => {
    const finite = values.filter(Number.isFinite);
    if (finite.length === 0) return 0;
    if (!categorical[j]) return mean(finite);
    const counts = new Map<number, number>();
    for (const v of finite) counts.set(Math.round(v), (counts.get(Math.round(v)) ?? 0) + 1);
    // Most frequent code; the smallest on a tie, as scikit-learn's SimpleImputer picks.
    return [...counts].sort(([a, na], [b, nb]) => nb - na || a - b)[0]![0];
  });
  const frequencies = inputs.map(({ spec, values }, j) => {
    if (!categorical[j]) return [];
    const shares = new Array<number>(spec.categories?.length ?? 0).fill(0);
    for (const v of values) {
      const code = Math.round(Number.isFinite(v) ? v : impute[j]!);
      if (code >= 0 && code < shares.length) shares[code]! += 1 / values.length;
    }
    return shares;
  });
  const partial: ReconstructionFit = {
    features: inputs.map(({ spec }) => spec.name),
    indices: inputs.map(({ spec }) => spec.index),
    categorical,
    impute,
    frequencies,
    means: inputs.map(() => 0),
    scales: inputs.map(() => 1),
    center: inputs.map(() => 0),
    components: [],
    explainedVarianceRatio: [],
    referenceRows: rows,
    referenceMeanError: 0,
    referenceRowStd: 0,
    referenceChunkExcessVariance: 0,
  };
  const encoded = Array.from({ length: rows }, (_, r) =>
    centred(
      partial,
      inputs.map(({ values }) => values[r]!),
    ),
  );
  const d = inputs.length;
  for (let j = 0; j < d; j++) {
    const column = encoded.map((row) => row[j]!);
    partial.means[j] = mean(column);
    // StandardScaler's rule: a constant column keeps scale 1.
    partial.scales[j] = Math.sqrt(variance(column)) || 1;
  }
  const scaled = encoded.map((row) => row.map((x, j) => (x - partial.means[j]!) / partial.scales[j]!));
  partial.center = Array.from({ length: d }, (_, j) => mean(scaled.map((row) => row[j]!)));
  const covariance = Array.from({ length: d }, (_, p) =>
    Array.from({ length: d }, (_, q) => scaled.reduce((a, row) => a + (row[p]! - partial.center[p]!) * (row[q]! - partial.center[q]!), 0) / (rows - 1)),
  );
  const { values, vectors } = symmetricEigen(covariance);
  const total = values.reduce((a, b) => a + Math.max(0, b), 0);
  const ratios = values.map((v) => Math.max(0, v) / total);
  // scikit-learn keeps the smallest k whose cumulative ratio is strictly above the target.
  let k = 0;
  let cumulative = 0;
  while (k < d && cumulative <= EXPLAINED_VARIANCE) cumulative += ratios[k++]!;
  partial.components = vectors.slice(0, k);
  partial.explainedVarianceRatio = ratios.slice(0, k);
  const errors = Array.from({ length: rows }, (_, r) =>
    rowError(
      partial.components,
      centred(
        partial,
        inputs.map(({ values: v }) => v[r]!),
      ),
    ),
  );
  const chunkSize = Math.floor(rows / REFERENCE_CHUNKS);
  const chunkMeans = Array.from({ length: REFERENCE_CHUNKS }, (_, c) => mean(errors.slice(c * chunkSize, (c + 1) * chunkSize)));
  partial.referenceMeanError = mean(errors);
  partial.referenceRowStd = Math.sqrt(variance(errors));
  // How much the reference's own chunk means spread beyond what row noise alone explains
  // (months differ, traffic drifts a little): windows are allowed that much movement too.
  partial.referenceChunkExcessVariance = Math.max(0, variance(chunkMeans) - partial.referenceRowStd ** 2 / chunkSize);
  return partial;
}

/** The reconstruction error of rows held in memory (reference rows, simulations); `rows[r][j]` is input j of the fit. */
export function reconstructionErrors(fit: ReconstructionFit, rows: number[][]): number[] {
  return rows.map((row) => rowError(fit.components, centred(fit, row)));
}

export interface ReconstructionDrift {
  rows: number;
  meanError: number;
  /** Standard error of the window's mean error, from its own rows. */
  samplingError: number;
  lower: number | null;
  upper: number;
  drifted: boolean;
}

/**
 * The alarm band of a window of `rows` rows around the reference's mean error: ±3 standard
 * errors, where the variance is the rows' own noise (σ²/rows) plus the reference chunks' excess
 * spread. NannyML takes the band from reference chunks of one fixed size; windows here come in
 * any size, so the band is scaled to each. A lower bound at or below 0 is dropped.
 */
export function reconstructionBand(fit: ReconstructionFit, rows: number): { lower: number | null; upper: number } {
  const half = BAND_SIGMAS * Math.sqrt(fit.referenceRowStd ** 2 / rows + fit.referenceChunkExcessVariance);
  const lower = fit.referenceMeanError - half;
  return { lower: lower > 0 ? lower : null, upper: fit.referenceMeanError + half };
}

/**
 * Every OK row's reconstruction error in a window, aggregated by ClickHouse. The fit is written
 * into the query as constants, one expression per input and per component, so each row costs a
 * few multiplications rather than array lambdas: ‖c‖² − Σ (w·c)² with c the row's encoded,
 * scaled and centred inputs.
 */
function windowReconstructionSql(fit: ReconstructionFit, segmented: boolean): string {
  const inputs = fit.indices.map((index, j) => {
    const raw = featureAt(index);
    const imputed = `if(isFinite(${raw}), ${raw}, ${floatLiteral(fit.impute[j]!)})`;
    const frequencies = fit.frequencies[j]!;
    const encoded = fit.categorical[j]
      ? `arrayElement([${frequencies.map(floatLiteral).join(", ")}, toFloat64(0)], toUInt32(if(${imputed} >= 0 AND round(${imputed}) < ${frequencies.length}, round(${imputed}), ${frequencies.length})) + 1)`
      : imputed;
    return `(${encoded} - ${floatLiteral(fit.means[j]!)}) / ${floatLiteral(fit.scales[j]!)} - ${floatLiteral(fit.center[j]!)} AS c${j}`;
  });
  const norm = fit.indices.map((_, j) => `c${j} * c${j}`).join(" + ");
  const projections = fit.components.map((w) => `pow(${w.map((x, j) => `${floatLiteral(x)} * c${j}`).join(" + ")}, 2)`);
  return `
  SELECT count() AS n, avg(e) AS mean_error, stddevSamp(e) AS std_error
  FROM (
    SELECT ${inputs.join(",\n           ")},
           sqrt(greatest(0, ${norm}${projections.length > 0 ? ` - (${projections.join(" + ")})` : ""})) AS e
    FROM ${PREDICTIONS}
    WHERE ${okPredictionsIn(segmented)}
  )`;
}

/** Reconstruction-error drift of one model version over one window; undefined for a window without OK rows. */
export async function reconstructionDrift(
  engine: StoreEngine,
  fit: ReconstructionFit,
  query: { model: string; version?: string; window: Window; segment?: SegmentFilter },
): Promise<ReconstructionDrift | undefined> {
  const [row] = await engine.query<{ n: string | number; mean_error: number; std_error: number }>(
    windowReconstructionSql(fit, query.segment !== undefined),
    windowParams(query),
  );
  const rows = Number(row?.n ?? 0);
  if (!row || rows === 0) return undefined;
  const meanError = Number(row.mean_error);
  const band = reconstructionBand(fit, rows);
  return {
    rows,
    meanError,
    samplingError: rows > 1 ? Number(row.std_error) / Math.sqrt(rows) : Number.NaN,
    ...band,
    drifted: meanError > band.upper || (band.lower !== null && meanError < band.lower),
  };
}

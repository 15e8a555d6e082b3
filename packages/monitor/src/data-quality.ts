import { type MonitorResult, PREDICTIONS, type SegmentFilter, type StoreEngine, segmentFilter, timestampRangeMicros, versionOfModel } from "@vigil/store";
import type { FeatureProfile, FeatureSpec } from "./profiles.js";
import { featureAt, floatLiteral } from "./sql-literal.js";
import { type Window, windowParams } from "./window.js";

/** What one monitored input's values looked like in a window, against its reference profile. */
export interface InputQuality {
  feature: string;
  kind: "numerical" | "categorical";
  /** OK predictions in the window. */
  rows: number;
  /** Rows where the input is missing (the row is too short) or not a finite number. */
  missing: number;
  /** Numerical inputs: finite values below the reference's minimum or above its maximum. */
  outOfRange: number;
  /** Categorical inputs: codes the reference never had (unknown codes included). */
  unseenCategories: number;
}

export interface DataQuality {
  inputs: InputQuality[];
  /** Every logged request of the model version in the window, answered or not. */
  requests: number;
  /** Requests that were not answered OK, by the gRPC status (or NON_FINITE_OUTPUT) they were logged with. */
  refusedByReason: Record<string, number>;
}

interface JudgedInput {
  spec: FeatureSpec;
  profile: FeatureProfile;
}

/**
 * Per monitored input: missing or non-finite values, values outside the reference's range, and
 * categories the reference never had, counted in one pass over the window's OK rows with the
 * profile's bounds and seen codes as constants (no unrolling of rows into pairs).
 */
function inputQualitySql(inputs: JudgedInput[], segmented: boolean): string {
  const values = inputs.map(({ spec }, j) => `${featureAt(spec.index)} AS v${j}`);
  const missing = inputs.map((_, j) => `countIf(NOT isFinite(v${j}))`);
  const outOfRange = inputs.map(({ profile }, j) =>
    profile.kind === "numerical" ? `countIf(isFinite(v${j}) AND (v${j} < ${floatLiteral(profile.min)} OR v${j} > ${floatLiteral(profile.max)}))` : "0",
  );
  const unseen = inputs.map(({ profile }, j) => {
    if (profile.kind === "numerical") return "0";
    const seen = profile.counts.flatMap((count, code) => (count > 0 ? [code] : []));
    return `countIf(isFinite(v${j}) AND NOT has([${seen.join(", ") || "-1"}], toInt64(round(v${j}))))`;
  });
  return `
  SELECT count() AS n, [${missing.join(", ")}] AS missing, [${outOfRange.join(", ")}] AS out_of_range, [${unseen.join(", ")}] AS unseen
  FROM (
    SELECT ${values.join(", ")}
    FROM ${PREDICTIONS}
    WHERE model_name = {model:String} AND ${versionOfModel()} AND status = 'OK' AND ${timestampRangeMicros()}${segmented ? ` AND ${segmentFilter()}` : ""}
  )`;
}

/**
 * Every logged request of the model version in the window by status. In a segment on an input,
 * refused requests (which carry no inputs) fall outside it; a client segment keeps its own.
 */
const requestsByStatusSql = (segmented: boolean) => `
  SELECT status, count() AS n
  FROM ${PREDICTIONS}
  WHERE model_name = {model:String} AND ${versionOfModel()} AND ${timestampRangeMicros()}${segmented ? ` AND ${segmentFilter()}` : ""}
  GROUP BY status`;

/** Data quality of a model version's traffic in one window: its feature inputs against their profiles, and its refused requests. */
export async function dataQuality(
  engine: StoreEngine,
  query: { model: string; version?: string; window: Window; features: FeatureSpec[]; profiles: FeatureProfile[]; segment?: SegmentFilter },
): Promise<DataQuality> {
  const segmented = query.segment !== undefined;
  const inputs = query.features.flatMap((spec): JudgedInput[] => {
    const profile = query.profiles.find((p) => p.feature === spec.name);
    return (spec.source ?? "feature") === "feature" && profile ? [{ spec, profile }] : [];
  });
  const params = windowParams(query);
  type Count = string | number;
  const [[counts], byStatus] = await Promise.all([
    inputs.length === 0
      ? Promise.resolve([undefined])
      : engine.query<{ n: Count; missing: Count[]; out_of_range: Count[]; unseen: Count[] }>(inputQualitySql(inputs, segmented), params),
    engine.query<{ status: string; n: Count }>(requestsByStatusSql(segmented), params),
  ]);
  return {
    inputs: inputs.map(({ spec, profile }, j) => ({
      feature: spec.name,
      kind: profile.kind,
      rows: Number(counts?.n ?? 0),
      missing: Number(counts?.missing[j] ?? 0),
      outOfRange: Number(counts?.out_of_range[j] ?? 0),
      unseenCategories: Number(counts?.unseen[j] ?? 0),
    })),
    requests: byStatus.reduce((sum, r) => sum + Number(r.n), 0),
    refusedByReason: Object.fromEntries(byStatus.filter((r) => r.status !== "OK").map((r) => [r.status, Number(r.n)])),
  };
}

/**
 * Data quality as result rows (kind data_quality): per input `missing_share`, and
 * `out_of_range_share` (numerical) or `unseen_category_share` (categorical), over the window's OK
 * rows; `refused_share` of all requests (no feature), and `refused_share_by_reason` with the
 * status as the feature. A window without requests has no rows.
 */
export function dataQualityResults(q: DataQuality, window: Window, model: string, version: string): MonitorResult[] {
  const row = (metric: string, feature: string, count: number, total: number, details: Record<string, unknown> = {}): MonitorResult[] =>
    total === 0
      ? []
      : [
          {
            window,
            model,
            version,
            kind: "data_quality",
            metric,
            feature,
            value: count / total,
            threshold: Number.NaN,
            breached: false,
            details: { count, rows: total, ...details },
          },
        ];
  const refused = Object.values(q.refusedByReason).reduce((a, b) => a + b, 0);
  return [
    ...q.inputs.flatMap((input) => [
      ...row("missing_share", input.feature, input.missing, input.rows),
      ...(input.kind === "numerical"
        ? row("out_of_range_share", input.feature, input.outOfRange, input.rows)
        : row("unseen_category_share", input.feature, input.unseenCategories, input.rows)),
    ]),
    ...row("refused_share", "", refused, q.requests, { by_reason: q.refusedByReason }),
    ...Object.entries(q.refusedByReason).flatMap(([reason, count]) => row("refused_share_by_reason", reason, count, q.requests)),
  ];
}

import { type MonitorResult, PREDICTIONS, type SegmentFilter, type StoreEngine, segmentFilter, segmentParams, timestampRangeMicros } from "@vigil/store";
import { featureValueSql } from "./drift.js";
import type { FeatureProfile, FeatureSpec } from "./profiles.js";
import type { Window } from "./window.js";

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

/**
 * Per monitored input: OK rows, missing or non-finite values, values outside the reference's
 * range, and categories the reference never had, counted in one pass over the window's rows.
 */
const inputQualitySql = (specs: FeatureSpec[], segmented: boolean) => `
  SELECT pair.1 AS i, count() AS n,
         countIf(NOT isFinite(pair.2)) AS missing,
         countIf(isFinite(pair.2) AND {numerical:Array(UInt8)}[i + 1] = 1 AND (pair.2 < {mins:Array(Float64)}[i + 1] OR pair.2 > {maxs:Array(Float64)}[i + 1])) AS out_of_range,
         countIf(isFinite(pair.2) AND {numerical:Array(UInt8)}[i + 1] = 0 AND NOT has({seen:Array(Array(Int64))}[i + 1], toInt64(round(pair.2)))) AS unseen
  FROM (
    SELECT arrayJoin(arrayZip(range(${specs.length}), [${specs.map(featureValueSql).join(", ")}])) AS pair
    FROM ${PREDICTIONS}
    WHERE model_name = {model:String} AND ({version:String} = '' OR model_version = {version:String}) AND status = 'OK' AND ${timestampRangeMicros()}${segmented ? ` AND ${segmentFilter()}` : ""}
  )
  GROUP BY i`;

/**
 * Every logged request of the model version in the window by status. In a segment on an input,
 * refused requests (which carry no inputs) fall outside it; a client segment keeps its own.
 */
const requestsByStatusSql = (segmented: boolean) => `
  SELECT status, count() AS n
  FROM ${PREDICTIONS}
  WHERE model_name = {model:String} AND ({version:String} = '' OR model_version = {version:String}) AND ${timestampRangeMicros()}${segmented ? ` AND ${segmentFilter()}` : ""}
  GROUP BY status`;

/** Data quality of a model version's traffic in one window: its feature inputs against their profiles, and its refused requests. */
export async function dataQuality(
  engine: StoreEngine,
  query: { model: string; version?: string; window: Window; features: FeatureSpec[]; profiles: FeatureProfile[]; segment?: SegmentFilter },
): Promise<DataQuality> {
  const segmented = query.segment !== undefined;
  const inputs = query.features.flatMap((spec) => {
    const profile = query.profiles.find((p) => p.feature === spec.name);
    return (spec.source ?? "feature") === "feature" && profile ? [{ spec, profile }] : [];
  });
  const params: Record<string, unknown> = {
    model: query.model,
    version: query.version ?? "",
    from: Math.floor(query.window.fromUs),
    to: Math.floor(query.window.toUs),
    ...(query.segment ? segmentParams(query.segment) : {}),
    numerical: inputs.map(({ profile }) => (profile.kind === "numerical" ? 1 : 0)),
    mins: inputs.map(({ profile }) => (profile.kind === "numerical" ? profile.min : 0)),
    maxs: inputs.map(({ profile }) => (profile.kind === "numerical" ? profile.max : 0)),
    seen: inputs.map(({ profile }) => (profile.kind === "categorical" ? profile.counts.flatMap((count, code) => (count > 0 ? [code] : [])) : [])),
  };
  inputs.forEach(({ spec }, i) => {
    params[`index_${i}`] = spec.index;
  });
  type Count = string | number;
  const [perInput, byStatus] = await Promise.all([
    inputs.length === 0
      ? Promise.resolve([])
      : engine.query<{ i: number; n: Count; missing: Count; out_of_range: Count; unseen: Count }>(
          inputQualitySql(
            inputs.map(({ spec }) => spec),
            segmented,
          ),
          params,
        ),
    engine.query<{ status: string; n: Count }>(requestsByStatusSql(segmented), params),
  ]);
  return {
    inputs: inputs.map(({ spec, profile }, i) => {
      const row = perInput.find((r) => Number(r.i) === i);
      return {
        feature: spec.name,
        kind: profile.kind,
        rows: Number(row?.n ?? 0),
        missing: Number(row?.missing ?? 0),
        outOfRange: Number(row?.out_of_range ?? 0),
        unseenCategories: Number(row?.unseen ?? 0),
      };
    }),
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

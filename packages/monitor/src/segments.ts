import type { SegmentFilter, StoreEngine } from "@vigil/store";
import { featureValueSql, windowValueParams } from "./drift.js";
import { InvalidRequestError } from "./errors.js";
import type { FeatureSpec } from "./profiles.js";
import { labelledSql } from "./quality-sql.js";
import type { Window } from "./window.js";

/** A slice of the traffic chosen when asked: one category of an input, a range of a numerical one, or one client. */
export type Segment =
  | { kind: "category"; input: string; category: string }
  | { kind: "range"; input: string; from: number; to: number }
  | { kind: "client"; client: string };

const SEGMENT_SYNTAX = "input=category, input=from..to (either end may be left open) or client=id";

/** Reads `origin=SFO`, `distance=100..500` (from inclusive, to exclusive), `distance=..100`, `client=abc`. */
export function parseSegment(text: string): Segment {
  const at = text.indexOf("=");
  if (at <= 0 || at === text.length - 1) throw new InvalidRequestError(`segment "${text}": write ${SEGMENT_SYNTAX}`);
  const name = text.slice(0, at).trim();
  const value = text.slice(at + 1).trim();
  if (name === "client") return { kind: "client", client: value };
  const range = /^(-?[\d.e+-]*)\.\.(-?[\d.e+-]*)$/.exec(value);
  if (!range) return { kind: "category", input: name, category: value };
  const bound = (part: string, open: number) => {
    if (part === "") return open;
    const n = Number(part);
    if (!Number.isFinite(n)) throw new InvalidRequestError(`segment "${text}": "${part}" is not a number`);
    return n;
  };
  const from = bound(range[1]!, Number.NEGATIVE_INFINITY);
  const to = bound(range[2]!, Number.POSITIVE_INFINITY);
  if (!(to > from)) throw new InvalidRequestError(`segment "${text}": the range's end must lie above its start`);
  return { kind: "range", input: name, from, to };
}

export function describeSegment(segment: Segment): string {
  switch (segment.kind) {
    case "client":
      return `client=${segment.client}`;
    case "category":
      return `${segment.input}=${segment.category}`;
    case "range":
      return `${segment.input}=${Number.isFinite(segment.from) ? segment.from : ""}..${Number.isFinite(segment.to) ? segment.to : ""}`;
  }
}

/** The rows a segment keeps, in terms of the prediction log: which `features` position holds the input, and what range of it. */
export function segmentRows(segment: Segment, inputs: FeatureSpec[]): SegmentFilter {
  if (segment.kind === "client") return { client: segment.client };
  const features = inputs.filter((f) => (f.source ?? "feature") === "feature");
  const spec = features.find((f) => f.name === segment.input);
  if (!spec)
    throw new InvalidRequestError(
      `segment on "${segment.input}": not a monitored input of this model (inputs: ${features.map((f) => f.name).join(", ") || "none"}; or client=id)`,
    );
  if (segment.kind === "range") {
    if (spec.kind === "categorical")
      throw new InvalidRequestError(`segment on "${segment.input}": a categorical input takes a category (${segment.input}=name)`);
    // ClickHouse has no infinite Float64 parameter text in every client; the largest finite values stand in.
    return { featureIndex: spec.index, from: Math.max(segment.from, -Number.MAX_VALUE), to: Math.min(segment.to, Number.MAX_VALUE) };
  }
  if (spec.kind === "numerical") throw new InvalidRequestError(`segment on "${segment.input}": a numerical input takes a range (${segment.input}=from..to)`);
  const code = (spec.categories ?? []).indexOf(segment.category);
  if (code < 0) {
    const known = spec.categories ?? [];
    throw new InvalidRequestError(
      `segment on "${segment.input}": no category "${segment.category}" (${known.length} categories, e.g. ${known.slice(0, 5).join(", ")})`,
    );
  }
  // Codes travel as floats: a code c is every value that rounds to it.
  return { featureIndex: spec.index, from: code - 0.5, to: code + 0.5 };
}

/** One category's share in explaining a change in accuracy between two windows. */
export interface CategoryContribution {
  input: string;
  category: string;
  baseline: { rows: number; accuracy: number | null };
  current: { rows: number; accuracy: number | null };
  /**
   * Its term in the change of overall accuracy: current share × current accuracy − baseline
   * share × baseline accuracy. Over an input's categories (missing values one of them) the
   * terms add up to the whole change.
   */
  contribution: number;
  /** The part from the category's own accuracy changing: current share × (current − baseline accuracy). */
  performance: number;
  /** The part from the category's share of the rows changing: (current − baseline share) × baseline accuracy. */
  mix: number;
}

export interface AccuracyChange {
  baseline: { rows: number; accuracy: number | null };
  current: { rows: number; accuracy: number | null };
  /** Every category of every categorical input, the most negative contribution first. */
  categories: CategoryContribution[];
}

/** The code standing for "no value" (a missing input or a row too short): a category of its own so terms add up. */
const MISSING_CODE = -1;

/** Labelled rows and correct predictions per category of each categorical input, in one pass over a window's labelled rows. */
const categoryAccuracySql = (specs: FeatureSpec[]) => `
  SELECT pair.1 AS i, if(isFinite(pair.2), toInt64(round(pair.2)), ${MISSING_CODE}) AS code, count() AS n, countIf(y = yhat) AS correct
  FROM (
    SELECT y, yhat, arrayJoin(arrayZip(range(${specs.length}), [${specs.map(featureValueSql).join(", ")}])) AS pair
    FROM (${labelledSql(false)})
    WHERE y >= 0
  )
  GROUP BY i, code`;

/**
 * Which categories explain a change in accuracy between a baseline window and a current one:
 * for each categorical input, overall accuracy is Σ share × accuracy over its categories, so the
 * change splits exactly into one term per category, and that term into what its accuracy did
 * and what its share of the traffic did. The question on call: "where did the drop happen?"
 */
export async function explainAccuracyChange(
  engine: StoreEngine,
  query: { model: string; version?: string; classes: string[]; inputs: FeatureSpec[]; baseline: Window; current: Window },
): Promise<AccuracyChange> {
  const specs = query.inputs.filter((f) => f.kind === "categorical" && (f.source ?? "feature") === "feature");
  type Row = { i: number; code: number | string; n: number | string; correct: number | string };
  const count = async (window: Window) =>
    specs.length === 0
      ? []
      : engine.query<Row>(categoryAccuracySql(specs), {
          ...windowValueParams({ model: query.model, version: query.version, window, features: specs }),
          classes: query.classes,
        });
  const [before, after] = await Promise.all([count(query.baseline), count(query.current)]);
  // Every input's categories cover every labelled row once, so the first input's counts give the totals.
  const totals = (rows: Row[]) => {
    const first = rows.filter((r) => Number(r.i) === 0);
    const n = first.reduce((a, r) => a + Number(r.n), 0);
    const correct = first.reduce((a, r) => a + Number(r.correct), 0);
    return { rows: n, accuracy: n === 0 ? null : correct / n };
  };
  const baseline = totals(before);
  const current = totals(after);
  const categories = specs.flatMap((spec, i) => {
    const codes = new Set([...before, ...after].filter((r) => Number(r.i) === i).map((r) => Number(r.code)));
    return [...codes].map((code): CategoryContribution => {
      const cell = (rows: Row[]) => rows.find((r) => Number(r.i) === i && Number(r.code) === code);
      const side = (row: Row | undefined, total: number) => {
        const rows = Number(row?.n ?? 0);
        return { rows, share: total === 0 ? 0 : rows / total, accuracy: rows === 0 ? null : Number(row!.correct) / rows };
      };
      const b = side(cell(before), baseline.rows);
      const c = side(cell(after), current.rows);
      const term = (s: { share: number; accuracy: number | null }) => s.share * (s.accuracy ?? 0);
      return {
        input: spec.name,
        category: code === MISSING_CODE ? "(missing)" : (spec.categories?.[code] ?? `code ${code}`),
        baseline: { rows: b.rows, accuracy: b.accuracy },
        current: { rows: c.rows, accuracy: c.accuracy },
        contribution: term(c) - term(b),
        performance: c.accuracy === null || b.accuracy === null ? 0 : c.share * (c.accuracy - b.accuracy),
        // A category new in the current window is all mix: there is no baseline accuracy to compare.
        mix: (c.share - b.share) * (b.accuracy ?? c.accuracy ?? 0),
      };
    });
  });
  categories.sort((a, b) => a.contribution - b.contribution);
  return { baseline, current, categories };
}

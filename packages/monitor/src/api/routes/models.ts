import { parseTime } from "@vigil/config";
import type { MonitorResultKind } from "@vigil/store";
import { z } from "zod";
import { featureDrift } from "../../drift.js";
import { InvalidRequestError, NotFoundError } from "../../errors.js";
import { evaluateWindow } from "../../job.js";
import { classificationQuality } from "../../quality.js";
import { describeSegment, explainAccuracyChange, parseSegment, segmentRows } from "../../segments.js";
import { defineRoute, type MonitorApiOptions, type Route, requireModel } from "../route.js";
import { VERSION, modelPath, parsed, range, seriesRange, windowOf } from "../params.js";
import { monitorResults, resultPoint } from "../queries.js";
import { accuracyChangeSchema, confusionSchema, histogramsSchema, modelResultsSchema, segmentReportSchema } from "../schemas.js";

/** Quality and drift of one model: as the monitor stored them per window, and computed now over a range. */
export function modelRoutes(options: MonitorApiOptions): Route[] {
  const { engine } = options;
  const storedResults = (kind: MonitorResultKind, path: string, summary: string) =>
    defineRoute({
      method: "GET",
      url: `/api/v1/models/:model/${path}`,
      summary,
      params: modelPath,
      query: range.extend({ version: VERSION }),
      response: modelResultsSchema,
      handler: async ({ params, query }) => {
        const r = seriesRange(query);
        return { model: params.model, points: await monitorResults(engine, kind, params.model, query.version, r.fromMs, r.toMs) };
      },
    });
  return [
    storedResults("quality", "quality", "Quality figures of a model per monitor window (as stored by the monitor)"),
    storedResults("drift", "drift", "Drift of each monitored input, the dataset drift share and the multivariate reconstruction error per monitor window"),
    storedResults(
      "data_quality",
      "data-quality",
      "Data quality per monitor window: missing, out-of-range and unseen values per input, refused requests by reason",
    ),
    storedResults(
      "estimated",
      "estimated",
      "Performance estimated from scores alone (CBPE) per monitor window: each figure with its sampling error and ±3 SE band in details, the expected confusion matrix, and <metric>_error rows (estimated − realized) once labels arrived",
    ),
    defineRoute({
      method: "GET",
      url: "/api/v1/models/:model/confusion",
      summary: "Confusion matrix, per-class figures and reliability bins over a range, computed now",
      params: modelPath,
      query: range.extend({ version: VERSION }),
      response: confusionSchema,
      handler: async ({ params, query }) => {
        const r = seriesRange(query);
        const m = await requireModel(options, params.model, query.version);
        if (!m.classes) throw new InvalidRequestError(`model ${m.name} is not a classifier (its config.json has no labels)`);
        return classificationQuality(engine, { model: m.name, version: query.version, classes: m.classes, window: windowOf(r) });
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/models/:model/report",
      summary: "Quality, drift or data quality of a model over a range as one window, computed now, optionally of one segment of the rows",
      params: modelPath,
      query: range.extend({
        version: VERSION,
        kind: z.enum(["quality", "drift", "data_quality"]).default("quality"),
        segment: z.string().max(300).optional(),
      }),
      response: segmentReportSchema,
      handler: async ({ params, query }) => {
        const r = seriesRange(query);
        const m = await requireModel(options, params.model, query.version);
        if (query.kind !== "quality" && query.version === "")
          throw new InvalidRequestError(`${query.kind} is judged against one version's reference: give version`);
        const segment = query.segment === undefined ? undefined : parseSegment(query.segment);
        const rows = segment ? segmentRows(segment, m.inputs) : undefined;
        const results = await evaluateWindow(engine, m, windowOf(r), rows);
        return {
          model: m.name,
          version: query.version,
          segment: segment ? describeSegment(segment) : null,
          points: results.filter((x) => x.kind === query.kind).map(resultPoint),
        };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/models/:model/explain",
      summary: "Which categories of a classifier's inputs explain its change in accuracy from a baseline range to the current one",
      params: modelPath,
      query: range.extend({ version: VERSION, baselineFrom: z.string().transform(parsed(parseTime)), baselineTo: z.string().transform(parsed(parseTime)) }),
      response: accuracyChangeSchema,
      handler: async ({ params, query }) => {
        const r = seriesRange(query);
        if (!(query.baselineTo > query.baselineFrom)) throw new InvalidRequestError('"baselineTo" must come after "baselineFrom"');
        const m = await requireModel(options, params.model, query.version);
        if (!m.classes) throw new InvalidRequestError(`model ${m.name} is not a classifier (its config.json has no classes)`);
        return explainAccuracyChange(engine, {
          model: m.name,
          version: query.version,
          classes: m.classes,
          inputs: m.inputs,
          baseline: { fromUs: query.baselineFrom * 1000, toUs: query.baselineTo * 1000 },
          current: windowOf(r),
        });
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/models/:model/histograms",
      summary: "Reference against current counts of each monitored input of a model version over a range",
      params: modelPath,
      query: range.extend({ version: z.string().min(1).max(50), feature: z.string().max(200).optional() }),
      response: histogramsSchema,
      handler: async ({ params, query }) => {
        const r = seriesRange(query);
        const m = await requireModel(options, params.model, query.version);
        const features = m.features.filter((f) => query.feature === undefined || f.name === query.feature);
        if (features.length === 0) {
          throw new NotFoundError(
            query.feature
              ? `model ${m.name} does not monitor an input named "${query.feature}" (inputs: ${m.features.map((f) => f.name).join(", ")})`
              : `model ${m.name} version ${query.version} has no reference profile yet`,
          );
        }
        const drift = await featureDrift(engine, { model: m.name, version: query.version, window: windowOf(r), features, profiles: m.profiles });
        return {
          model: m.name,
          version: query.version,
          inputs: drift.map((d) => {
            const profile = m.profiles.find((p) => p.feature === d.feature)!;
            return {
              feature: d.feature,
              kind: d.kind,
              bins: profile.kind === "numerical" ? { edges: profile.binEdges } : { categories: profile.categories },
              reference: d.referenceCounts,
              current: d.currentCounts,
              psi: d.psi,
              jensenShannon: d.jensenShannon,
            };
          }),
        };
      },
    }),
  ];
}

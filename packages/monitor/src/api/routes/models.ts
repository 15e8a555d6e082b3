import { parseTime } from "@vigil/config";
import { REFERENCE_FILE } from "@vigil/model-repository";
import type { MonitorResultKind } from "@vigil/store";
import { z } from "zod";
import { featureDrift } from "../../drift.js";
import { InvalidRequestError, NotFoundError } from "../../errors.js";
import { evaluateWindow } from "../../job.js";
import { classificationQuality } from "../../quality.js";
import { storedHistograms } from "../../stored-drift.js";
import { windowedClassificationQuality } from "../../window-quality.js";
import { describeSegment, explainAccuracyChange, parseSegment, segmentRows } from "../../segments.js";
import { type LookedUpModel, defineRoute, type MonitorApiOptions, type RepositoryModel, type Route, requireModel } from "../route.js";
import { VERSION, modelPath, parsed, range, seriesRange, windowOf } from "../params.js";
import { type VersionActivity, monitorResults, resultPoint, versionActivity } from "../queries.js";
import { readMonitorResults } from "@vigil/store";
import {
  type RepositoryModelResponse,
  accuracyChangeSchema,
  confusionSchema,
  histogramsSchema,
  modelResultsSchema,
  modelsSchema,
  segmentReportSchema,
  windowConfusionSchema,
} from "../schemas.js";

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The version a model serves now: the one whose successful traffic is most recent (a tie goes
 * to the higher version); when none has served, the highest version; null without versions.
 * Refused requests never count, so a request naming a version that does not exist cannot make
 * it the serving one.
 */
export function servingVersion(versions: Array<{ version: string; lastServedMs: number | null }>): string | null {
  const newestFirst = [...versions].sort((a, b) => (b.lastServedMs ?? -1) - (a.lastServedMs ?? -1) || Number(b.version) - Number(a.version));
  return newestFirst[0]?.version ?? null;
}

function describeModel(model: RepositoryModel, activity: VersionActivity[]): RepositoryModelResponse {
  const versions = model.versions.map((v) => {
    const known = activity.find((a) => a.model === model.name && a.version === v.version);
    return {
      version: v.version,
      reference: v.referenceFile || (known?.profiled ?? false),
      firstServedMs: known?.firstServedMs ?? null,
      lastServedMs: known?.lastServedMs ?? null,
    };
  });
  return {
    name: model.name,
    classifier: model.classes !== undefined,
    classes: model.classes ?? [],
    inputs: model.inputs.map((input) => ({ name: input.name, kind: input.kind })),
    versions: versions.map(({ firstServedMs, lastServedMs, ...v }) => ({
      ...v,
      firstServedAt: firstServedMs === null ? null : iso(firstServedMs),
      lastServedAt: lastServedMs === null ? null : iso(lastServedMs),
    })),
    servingVersion: servingVersion(versions),
  };
}

/** Quality and drift of one model: as the monitor stored them per window, and computed now over a range. */
export function modelRoutes(options: MonitorApiOptions): Route[] {
  const { engine } = options;

  /**
   * The model a route names, known to the repository, and of one of its versions when a version
   * is given: otherwise a 404 that names what is known. Results stored for versions seen only in
   * refused requests are not served as if they were a model's.
   */
  const knownModel = async (name: string, version: string): Promise<LookedUpModel> => {
    const listed = options.repository && (await options.repository()).find((m) => m.name === name);
    if (listed && version !== "" && !listed.versions.some((v) => v.version === version)) {
      throw new NotFoundError(
        `model ${name} has no version "${version}" in the model repository (versions: ${listed.versions.map((v) => v.version).join(", ") || "none"})`,
      );
    }
    return requireModel(options, name, version);
  };

  /** The version a route means when none is given: the serving one, from the repository's versions (or the traffic's, without a repository). */
  const defaultVersion = async (name: string): Promise<string> => {
    const activity = await versionActivity(engine, name);
    const listed = options.repository && (await options.repository()).find((m) => m.name === name);
    const version = listed ? describeModel(listed, activity).servingVersion : servingVersion(activity.filter((a) => a.lastServedMs !== null));
    if (version === null) throw new NotFoundError(`model ${name} has no versions in the model repository and no successful traffic; give version`);
    return version;
  };

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
        await knownModel(params.model, query.version);
        return { model: params.model, points: await monitorResults(engine, kind, params.model, query.version, r.fromMs, r.toMs) };
      },
    });
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/models",
      summary:
        "The model repository's models: versions (with whether each has a reference, and its last successful traffic), the serving version, classes and monitored inputs",
      response: modelsSchema,
      handler: async () => {
        const [models, activity] = await Promise.all([options.repository?.() ?? [], versionActivity(engine)]);
        return { models: models.map((m) => describeModel(m, activity)).sort((a, b) => a.name.localeCompare(b.name)) };
      },
    }),
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
        const m = await knownModel(params.model, query.version);
        if (!m.classes) throw new InvalidRequestError(`model ${m.name} is not a classifier (its config.json has no labels)`);
        const quality = await classificationQuality(engine, { model: m.name, version: query.version, classes: m.classes, window: windowOf(r) });
        return { ...quality, window: { from: iso(r.fromMs), to: iso(r.toMs) } };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/models/:model/confusion/windows",
      summary:
        "Confusion matrix, per-class figures and reliability bins summed from the monitor's stored windows that end in a range (fast at any traffic: reads no prediction rows)",
      params: modelPath,
      query: range.extend({ version: VERSION }),
      response: windowConfusionSchema,
      handler: async ({ params, query }) => {
        const r = seriesRange(query);
        const m = await knownModel(params.model, query.version);
        if (!m.classes) throw new InvalidRequestError(`model ${m.name} is not a classifier (its config.json has no labels)`);
        const stored = await readMonitorResults(engine, { kind: "quality", model: m.name, version: query.version, fromMs: r.fromMs, toMs: r.toMs });
        const { span, ...figures } = windowedClassificationQuality(stored, m.classes);
        return { ...figures, window: span && { from: iso(span.fromUs / 1000), to: iso(span.toUs / 1000) } };
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
        const m = await knownModel(params.model, query.version);
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
        const m = await knownModel(params.model, query.version);
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
      summary: "Reference against current counts of each monitored input of a model version over a range (the serving version when none is given)",
      params: modelPath,
      query: range.extend({ version: VERSION, feature: z.string().max(200).optional() }),
      response: histogramsSchema,
      handler: async ({ params, query }) => {
        const r = seriesRange(query);
        await knownModel(params.model, query.version);
        const version = query.version || (await defaultVersion(params.model));
        const m = await knownModel(params.model, version);
        const features = m.features.filter((f) => query.feature === undefined || f.name === query.feature);
        if (features.length === 0) {
          throw new NotFoundError(
            query.feature
              ? `model ${m.name} does not monitor an input named "${query.feature}" (inputs: ${m.features.map((f) => f.name).join(", ")})`
              : `model ${m.name} version ${version} has no reference profile (no ${REFERENCE_FILE} in its directory, and none built with vigil profile), so its drift cannot be judged`,
          );
        }
        const window = windowOf(r);
        // A range that is exactly a monitor window (the Drift page's selected window) is served from the counts stored with its drift decisions;
        // a feature without a fitting profile goes to featureDrift, which says what is wrong.
        const profiles = features.flatMap((f) => m.profiles.find((p) => p.feature === f.name && p.kind === f.kind) ?? []);
        const stored =
          profiles.length === features.length
            ? storedHistograms(await readMonitorResults(engine, { kind: "drift", model: m.name, version, fromMs: r.fromMs, toMs: r.toMs }), window, profiles)
            : undefined;
        const drift = stored ?? (await featureDrift(engine, { model: m.name, version, window, features, profiles: m.profiles }));
        return {
          model: m.name,
          version,
          window: { from: iso(r.fromMs), to: iso(r.toMs) },
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

import { z } from "zod";
import { InvalidRequestError, NotFoundError } from "../../errors.js";
import { defineRoute, type MonitorApiOptions, type Route } from "../route.js";
import { NAME, range, seriesRange, statusFilter } from "../params.js";
import { type Cursor, predictionDetail, searchPredictions } from "../queries.js";
import { type PredictionDetail, predictionDetailSchema, predictionPageSchema } from "../schemas.js";
import type { LookedUpModel } from "../route.js";

/** The page cursor is the last row's keyset, opaque to clients. */
const cursorSchema = z.object({ t: z.number().int(), r: z.string(), i: z.number().int().min(0) });
const encodeCursor = (row: Cursor) => Buffer.from(JSON.stringify({ t: row.timestampUs, r: row.requestId, i: row.rowIndex })).toString("base64url");
function decodeCursor(text: string): Cursor {
  try {
    const parsed = cursorSchema.parse(JSON.parse(Buffer.from(text, "base64url").toString("utf8")));
    return { timestampUs: parsed.t, requestId: parsed.r, rowIndex: parsed.i };
  } catch {
    throw new InvalidRequestError("cursor is not one this API returned; start again without it");
  }
}

/**
 * The recorded feature values under the model's input names; a categorical input also gets the
 * name of the category its code stands for, from the model's config or else its reference profile.
 */
function namedInputs(values: number[], model: LookedUpModel | undefined): PredictionDetail["inputs"] {
  if (!model) return [];
  const inputs = model.features.filter((f) => (f.source ?? "feature") === "feature");
  return inputs.flatMap((input, i) => {
    const value = values[i];
    if (value === undefined) return [];
    const profile = model.profiles.find((p) => p.feature === input.name);
    const categories = input.categories ?? (profile?.kind === "categorical" ? profile.categories : undefined);
    const category = input.kind === "categorical" && Number.isInteger(value) ? (categories?.[value] ?? null) : null;
    return [{ name: input.name, value, category }];
  });
}

/** The prediction log: search a page at a time, and one row in full. */
export function predictionRoutes(options: MonitorApiOptions): Route[] {
  const { engine } = options;
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/predictions",
      summary: "Prediction log search, newest first, with cursor pagination",
      query: range.extend({
        model: z.string().max(200).optional(),
        version: z.string().max(50).optional(),
        status: statusFilter,
        requestId: z.string().max(200).optional(),
        hasLabel: z.enum(["true", "false"]).optional(),
        wrong: z
          .enum(["true", "false"])
          .optional()
          .describe("Labelled rows only: true for predictions that differ from their newest label, false for those that match it"),
        limit: z.coerce.number().int().min(1).max(500).default(50),
        cursor: z.string().max(1000).optional(),
      }),
      response: predictionPageSchema,
      handler: async ({ query }) => {
        const r = seriesRange(query);
        const { rows, last } = await searchPredictions(engine, {
          model: query.model,
          version: query.version,
          status: query.status,
          requestId: query.requestId,
          hasLabel: query.hasLabel === undefined ? undefined : query.hasLabel === "true",
          wrong: query.wrong === undefined ? undefined : query.wrong === "true",
          fromMs: r.fromMs,
          toMs: r.toMs,
          limit: query.limit,
          after: query.cursor ? decodeCursor(query.cursor) : undefined,
        });
        return { rows, nextCursor: last && rows.length === query.limit ? encodeCursor(last) : null };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/predictions/:requestId/:row",
      summary: "One prediction row: inputs (categorical ones with their category names), scores, label, trace",
      params: z.object({ requestId: NAME, row: z.coerce.number().int().min(0).max(1_000_000) }),
      response: predictionDetailSchema,
      handler: async ({ params }) => {
        const found = await predictionDetail(engine, params.requestId, params.row);
        if (!found) throw new NotFoundError(`no prediction with request id "${params.requestId}" and row ${params.row}`);
        return { ...found, inputs: namedInputs(found.features, await options.models(found.model, found.version)) };
      },
    }),
  ];
}

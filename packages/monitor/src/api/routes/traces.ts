import { recentTraces, traceTree } from "@vigil/store";
import { z } from "zod";
import { NotFoundError } from "../../errors.js";
import { defineRoute, type MonitorApiOptions, type Route } from "../route.js";
import { range, seriesRange } from "../params.js";
import { traceSchema, tracesSchema } from "../schemas.js";

/** Traces of inference calls: a filtered list, and one trace's spans. */
export function traceRoutes({ engine }: MonitorApiOptions): Route[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/traces",
      summary: "Traces of inference calls in a range, newest first",
      query: range.extend({
        model: z.string().max(200).optional(),
        status: z.string().max(40).optional(),
        minDurationMs: z.coerce.number().min(0).max(86_400_000).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      response: tracesSchema,
      handler: async ({ query }) => {
        const r = seriesRange(query);
        return recentTraces(engine, {
          model: query.model,
          status: query.status,
          minDurationNs: (query.minDurationMs ?? 0) * 1e6,
          limit: query.limit,
          fromUs: r.fromMs * 1000,
          toUs: r.toMs * 1000,
        });
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/traces/:traceId",
      summary: "One trace's spans as a tree",
      params: z.object({ traceId: z.string().regex(/^[0-9a-f]{32}$/, "a trace id is 32 lowercase hex digits") }),
      response: traceSchema,
      handler: async ({ params }) => {
        const spans = await traceTree(engine, params.traceId);
        if (spans.length === 0) throw new NotFoundError(`no trace ${params.traceId} (traces are kept for the configured retention)`);
        return { traceId: params.traceId, spans };
      },
    }),
  ];
}

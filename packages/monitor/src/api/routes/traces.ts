import { type TraceSpan, recentTraces, traceTree } from "@vigil/store";
import { z } from "zod";
import { NotFoundError } from "../../errors.js";
import { defineRoute, type MonitorApiOptions, type Route } from "../route.js";
import { range, seriesRange, statusFilter } from "../params.js";
import { tracePredictions } from "../queries.js";
import { traceSchema, tracesSchema } from "../schemas.js";

const everySpan = (spans: TraceSpan[]): TraceSpan[] => spans.flatMap((s) => [s, ...everySpan(s.children)]);

/** Traces of inference calls: a filtered list, and one trace's spans with the predictions it logged. */
export function traceRoutes({ engine }: MonitorApiOptions): Route[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/traces",
      summary: "Traces of inference calls in a range, newest or slowest first",
      query: range.extend({
        model: z.string().max(200).optional(),
        status: statusFilter,
        minDurationMs: z.coerce.number().min(0).max(86_400_000).optional(),
        sort: z.enum(["newest", "slowest"]).default("newest").describe("newest: latest start first; slowest: longest first"),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      response: tracesSchema,
      handler: async ({ query }) => {
        const r = seriesRange(query);
        return recentTraces(engine, {
          model: query.model,
          status: query.status,
          minDurationNs: (query.minDurationMs ?? 0) * 1e6,
          order: query.sort,
          limit: query.limit,
          fromUs: r.fromMs * 1000,
          toUs: r.toMs * 1000,
        });
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/traces/:traceId",
      summary: "One trace's spans as a tree, and the prediction rows its requests logged",
      params: z.object({ traceId: z.string().regex(/^[0-9a-f]{32}$/, "a trace id is 32 lowercase hex digits") }),
      response: traceSchema,
      handler: async ({ params }) => {
        const spans = await traceTree(engine, params.traceId);
        if (spans.length === 0) throw new NotFoundError(`no trace ${params.traceId} (traces are kept for the configured retention)`);
        const all = everySpan(spans);
        const first = all.find((s) => s.startOffsetMs === 0) ?? spans[0]!;
        const requestIds = all.map((s) => s.attributes["vigil.request_id"]).filter((id): id is string => id !== undefined && id !== "");
        return {
          traceId: params.traceId,
          start: first.start,
          durationMs: Math.max(...all.map((s) => s.startOffsetMs + s.durationMs)),
          spans,
          predictions: await tracePredictions(engine, params.traceId, requestIds, Date.parse(first.start)),
        };
      },
    }),
  ];
}

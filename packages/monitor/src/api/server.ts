import { TokenSet, bearerToken, parseDuration, parseTime } from "@vigil/config";
import { type StoreEngine, recentTraces, traceTree } from "@vigil/store";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import type { Alerting } from "../alerting/alerting.js";
import { createSilence, expireSilence, listSilences } from "../alerting/silences.js";
import { type Slo, burnRate, sloEvents, sloEventsPerStep } from "../alerting/slo.js";
import { sloReport } from "../alerting/slo-report.js";
import { featureDrift } from "../drift.js";
import type { MonitoredModel } from "../job.js";
import { classificationQuality } from "../quality.js";
import { activeAlerts, alertHistory } from "../alerting/history.js";
import { monitorResults, overviewSeries, overviewTotals, predictionDetail, searchPredictions } from "./queries.js";

/** What the API needs to know about a model beyond the store: its classes, monitored inputs and reference profiles. */
export type ModelLookup = (model: string, version: string) => Promise<MonitoredModel | undefined>;

export interface MonitorApiOptions {
  engine: StoreEngine;
  /** Bearer tokens; every route but /api/v1/health and the OpenAPI document needs one when set. */
  tokens: readonly string[];
  models: ModelLookup;
  slos: Slo[];
  /** Alerting in this process, for its live state; otherwise alerts come from the history. */
  alerting?: Alerting;
  /** Most bytes a request body may have. */
  bodyLimit?: number;
}

/** Thrown by handlers for a 4xx with a message a person can act on. */
class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const time = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      try {
        return parseTime(v);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    });
const duration = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined) return undefined;
    try {
      return parseDuration(v);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });
const NAME = z.string().min(1).max(200);

const range = z.object({ from: time("-1h"), to: time("now"), step: duration });
const modelScope = z.object({ model: z.string().max(200).default(""), version: z.string().max(50).default("") });
const modelPath = z.object({ model: NAME });

/** About 120 points over the range, in whole minutes, unless a step is given. */
function seriesRange(q: { from: number; to: number; step?: number }) {
  if (!(q.to > q.from)) throw new ApiError(400, `"to" (${new Date(q.to).toISOString()}) must come after "from" (${new Date(q.from).toISOString()})`);
  const stepMs = q.step ?? Math.max(60_000, Math.ceil((q.to - q.from) / 120 / 60_000) * 60_000);
  if ((q.to - q.from) / stepMs > 10_000) throw new ApiError(400, `step ${stepMs} ms gives more than 10,000 points over the range; use a longer step`);
  return { fromMs: q.from, toMs: q.to, stepMs };
}

const cursorSchema = z.object({ t: z.number().int(), r: z.string(), i: z.number().int().min(0) });
const encodeCursor = (row: { timestampUs: number; requestId: string; rowIndex: number }) => Buffer.from(JSON.stringify({ t: row.timestampUs, r: row.requestId, i: row.rowIndex })).toString("base64url");
function decodeCursor(text: string) {
  try {
    const parsed = cursorSchema.parse(JSON.parse(Buffer.from(text, "base64url").toString("utf8")));
    return { timestampUs: parsed.t, requestId: parsed.r, rowIndex: parsed.i };
  } catch {
    throw new ApiError(400, "cursor is not one this API returned; start again without it");
  }
}

interface RouteSpec {
  method: "GET" | "POST" | "DELETE";
  path: string;
  summary: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  open?: boolean;
  handler: (input: { params: Record<string, unknown>; query: Record<string, unknown>; body: unknown }) => Promise<unknown>;
}

function routes(options: MonitorApiOptions): RouteSpec[] {
  const { engine } = options;
  const model = async (name: string, version: string) => {
    const found = await options.models(name, version);
    if (!found) throw new ApiError(404, `model "${name}" is not known to the monitor (it has no config.json in the model repository)`);
    return found;
  };
  const storedResults = (kind: "quality" | "drift", summary: string): RouteSpec => ({
    method: "GET",
    path: `/api/v1/models/:model/${kind}`,
    summary,
    params: modelPath,
    query: range.extend({ version: z.string().max(50).default("") }),
    handler: async ({ params, query }) => {
      const q = query as z.infer<typeof range> & { version: string };
      const r = seriesRange(q);
      return { model: params.model, points: await monitorResults(engine, kind, params.model as string, q.version, r.fromMs, r.toMs) };
    },
  });
  return [
    {
      method: "GET",
      path: "/api/v1/health",
      summary: "Liveness of the API and its store",
      open: true,
      handler: async () => {
        await engine.ping();
        return { status: "ok", store: engine.location, alerting: options.alerting?.evaluator.health() ?? null };
      },
    },
    {
      method: "GET",
      path: "/api/v1/overview",
      summary: "Requests, server-side errors and latency percentiles over a range, per step and in total",
      query: range.extend(modelScope.shape),
      handler: async ({ query }) => {
        const q = query as z.infer<typeof range> & z.infer<typeof modelScope>;
        const r = seriesRange(q);
        const [series, totals] = await Promise.all([overviewSeries(engine, r, q.model, q.version), overviewTotals(engine, r, q.model, q.version)]);
        return { from: new Date(r.fromMs).toISOString(), to: new Date(r.toMs).toISOString(), stepMs: r.stepMs, totals, series };
      },
    },
    storedResults("quality", "Quality figures of a model per monitor window (as stored by the monitor)"),
    storedResults("drift", "Drift of each monitored input and the dataset drift share per monitor window"),
    {
      method: "GET",
      path: "/api/v1/models/:model/confusion",
      summary: "Confusion matrix, per-class figures and reliability bins over a range, computed now",
      params: modelPath,
      query: range.extend({ version: z.string().max(50).default("") }),
      handler: async ({ params, query }) => {
        const q = query as z.infer<typeof range> & { version: string };
        const r = seriesRange(q);
        const m = await model(params.model as string, q.version);
        if (!m.classes) throw new ApiError(400, `model ${m.name} is not a classifier (its config.json has no labels)`);
        return classificationQuality(engine, { model: m.name, version: q.version, classes: m.classes, window: { fromUs: r.fromMs * 1000, toUs: r.toMs * 1000 } });
      },
    },
    {
      method: "GET",
      path: "/api/v1/models/:model/histograms",
      summary: "Reference against current counts of each monitored input of a model version over a range",
      params: modelPath,
      query: range.extend({ version: z.string().min(1).max(50), feature: z.string().max(200).optional() }),
      handler: async ({ params, query }) => {
        const q = query as z.infer<typeof range> & { version: string; feature?: string };
        const r = seriesRange(q);
        const m = await model(params.model as string, q.version);
        const features = m.features.filter((f) => q.feature === undefined || f.name === q.feature);
        if (features.length === 0) throw new ApiError(404, q.feature ? `model ${m.name} does not monitor an input named "${q.feature}" (inputs: ${m.features.map((f) => f.name).join(", ")})` : `model ${m.name} version ${q.version} has no reference profile yet`);
        const drift = await featureDrift(engine, { model: m.name, version: q.version, window: { fromUs: r.fromMs * 1000, toUs: r.toMs * 1000 }, features, profiles: m.profiles });
        return {
          model: m.name,
          version: q.version,
          inputs: drift.map((d) => {
            const profile = m.profiles.find((p) => p.feature === d.feature)!;
            return { feature: d.feature, kind: d.kind, bins: profile.kind === "numerical" ? { edges: profile.binEdges } : { categories: profile.categories }, reference: d.referenceCounts, current: d.currentCounts, psi: d.psi, jensenShannon: d.jensenShannon };
          }),
        };
      },
    },
    {
      method: "GET",
      path: "/api/v1/slos",
      summary: "Each SLO over its window: attainment, error budget and burn rates",
      handler: async () => {
        // Up to the end of the current minute, so traffic of the last seconds counts.
        const now = Math.ceil(Date.now() / 60_000) * 60_000;
        return Promise.all(
          options.slos.map(async (slo) => {
            const report = await sloReport(engine, slo, now - slo.windowMs, now);
            const burn = async (ms: number) => burnRate(await sloEvents(engine, slo, now - ms, now), slo.objective);
            return { ...report, burnRates: { "1h": await burn(3_600_000), "6h": await burn(6 * 3_600_000), "1d": await burn(86_400_000), "3d": await burn(3 * 86_400_000) } };
          }),
        );
      },
    },
    {
      method: "GET",
      path: "/api/v1/slos/:slo/burn",
      summary: "An SLO's good and total events and burn rate per step over a range",
      params: z.object({ slo: NAME }),
      query: range,
      handler: async ({ params, query }) => {
        const slo = options.slos.find((s) => s.name === params.slo);
        if (!slo) throw new ApiError(404, `no SLO named "${String(params.slo)}" (SLOs: ${options.slos.map((s) => s.name).join(", ") || "none"})`);
        const r = seriesRange(query as z.infer<typeof range>);
        const start = Math.floor(r.fromMs / r.stepMs) * r.stepMs;
        const byStart = new Map((await sloEventsPerStep(engine, slo, start, r.toMs, r.stepMs)).map((e) => [e.startMs, e]));
        const points = [];
        for (let t = start; t < r.toMs; t += r.stepMs) {
          const events = byStart.get(t) ?? { good: 0, total: 0 };
          points.push({ t: new Date(t).toISOString(), good: events.good, total: events.total, burnRate: burnRate(events, slo.objective) });
        }
        return { slo: slo.name, objective: slo.objective, stepMs: r.stepMs, points };
      },
    },
    {
      method: "GET",
      path: "/api/v1/alerts",
      summary: "Alerts pending or firing now",
      handler: async () => activeAlerts(engine),
    },
    {
      method: "GET",
      path: "/api/v1/alerts/history",
      summary: "Alert state changes in a range, newest first",
      query: range.extend({ limit: z.coerce.number().int().min(1).max(5000).default(500) }),
      handler: async ({ query }) => {
        const q = query as z.infer<typeof range> & { limit: number };
        const r = seriesRange(q);
        return alertHistory(engine, r.fromMs, r.toMs, q.limit);
      },
    },
    {
      method: "GET",
      path: "/api/v1/silences",
      summary: "Silences, newest first (expired ones included)",
      handler: async () => listSilences(engine),
    },
    {
      method: "POST",
      path: "/api/v1/silences",
      summary: "Create a silence",
      body: z.strictObject({
        matchers: z.array(z.string().min(1).max(500)).min(1).max(20),
        duration: z.string().max(20).optional(),
        endsAt: z.string().max(40).optional(),
        createdBy: z.string().max(200).default(""),
        comment: z.string().max(2000).default(""),
      }),
      handler: async ({ body }) => {
        const b = body as { matchers: string[]; duration?: string; endsAt?: string; createdBy: string; comment: string };
        if ((b.duration === undefined) === (b.endsAt === undefined)) throw new ApiError(400, 'give either "duration" (e.g. "2h") or "endsAt" (ISO 8601)');
        let endsAt: number;
        try {
          endsAt = b.duration !== undefined ? Date.now() + parseDuration(b.duration) : parseTime(b.endsAt!);
        } catch (error) {
          throw new ApiError(400, `${b.duration !== undefined ? "duration" : "endsAt"}: ${(error as Error).message}`);
        }
        return createSilence(engine, { matchers: b.matchers, endsAt, createdBy: b.createdBy, comment: b.comment }).catch((error: Error) => {
          throw new ApiError(400, error.message);
        });
      },
    },
    {
      method: "DELETE",
      path: "/api/v1/silences/:id",
      summary: "Expire a silence now",
      params: z.object({ id: z.string().uuid() }),
      handler: async ({ params }) =>
        expireSilence(engine, params.id as string).catch((error: Error) => {
          throw new ApiError(404, error.message);
        }),
    },
    {
      method: "GET",
      path: "/api/v1/traces",
      summary: "Traces of inference calls in a range, newest first",
      query: range.extend({ model: z.string().max(200).optional(), status: z.string().max(40).optional(), minDurationMs: z.coerce.number().min(0).max(86_400_000).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      handler: async ({ query }) => {
        const q = query as z.infer<typeof range> & { model?: string; status?: string; minDurationMs?: number; limit: number };
        const r = seriesRange(q);
        return recentTraces(engine, { model: q.model, status: q.status, minDurationNs: (q.minDurationMs ?? 0) * 1e6, limit: q.limit, fromUs: r.fromMs * 1000, toUs: r.toMs * 1000 });
      },
    },
    {
      method: "GET",
      path: "/api/v1/traces/:traceId",
      summary: "One trace's spans as a tree",
      params: z.object({ traceId: z.string().regex(/^[0-9a-f]{32}$/, "a trace id is 32 lowercase hex digits") }),
      handler: async ({ params }) => {
        const spans = await traceTree(engine, params.traceId as string);
        if (spans.length === 0) throw new ApiError(404, `no trace ${String(params.traceId)} (traces are kept for the configured retention)`);
        return { traceId: params.traceId, spans };
      },
    },
    {
      method: "GET",
      path: "/api/v1/predictions",
      summary: "Prediction log search, newest first, with cursor pagination",
      query: range.extend({
        model: z.string().max(200).optional(),
        version: z.string().max(50).optional(),
        status: z.string().max(40).optional(),
        requestId: z.string().max(200).optional(),
        hasLabel: z.enum(["true", "false"]).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(50),
        cursor: z.string().max(1000).optional(),
      }),
      handler: async ({ query }) => {
        const q = query as z.infer<typeof range> & { model?: string; version?: string; status?: string; requestId?: string; hasLabel?: "true" | "false"; limit: number; cursor?: string };
        const r = seriesRange(q);
        const rows = await searchPredictions(engine, {
          model: q.model,
          version: q.version,
          status: q.status,
          requestId: q.requestId,
          hasLabel: q.hasLabel === undefined ? undefined : q.hasLabel === "true",
          fromMs: r.fromMs,
          toMs: r.toMs,
          limit: q.limit,
          after: q.cursor ? decodeCursor(q.cursor) : undefined,
        });
        return { rows, nextCursor: rows.length === q.limit ? encodeCursor(rows.at(-1)!) : null };
      },
    },
    {
      method: "GET",
      path: "/api/v1/predictions/:requestId/:row",
      summary: "One prediction row: inputs, scores, label, trace",
      params: z.object({ requestId: NAME, row: z.coerce.number().int().min(0).max(1_000_000) }),
      handler: async ({ params }) => {
        const found = await predictionDetail(engine, params.requestId as string, params.row as number);
        if (!found) throw new ApiError(404, `no prediction with request id "${String(params.requestId)}" and row ${String(params.row)}`);
        const m = await options.models(found.model, found.version);
        return { ...found, featureNames: m?.features.filter((f) => (f.source ?? "feature") === "feature").map((f) => f.name) ?? [] };
      },
    },
  ];
}

/** The OpenAPI 3.1 document of the routes, with parameter and body schemas from their zod definitions. */
function openApiDocument(specs: RouteSpec[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const parameters = (schema: z.ZodObject | undefined, where: "path" | "query") =>
    Object.entries(schema?.shape ?? {}).map(([name, field]) => ({
      name,
      in: where,
      required: where === "path" || !(field as z.ZodType).safeParse(undefined).success,
      schema: z.toJSONSchema(field as z.ZodType, { io: "input", unrepresentable: "any" }),
    }));
  for (const spec of specs) {
    const path = spec.path.replace(/:([A-Za-z]+)/g, "{$1}");
    paths[path] ??= {};
    paths[path]![spec.method.toLowerCase()] = {
      summary: spec.summary,
      security: spec.open ? [] : [{ bearer: [] }],
      parameters: [...parameters(spec.params, "path"), ...parameters(spec.query, "query")],
      ...(spec.body ? { requestBody: { required: true, content: { "application/json": { schema: z.toJSONSchema(spec.body, { io: "input" }) } } } } : {}),
      responses: {
        "200": { description: "JSON" },
        "400": { description: "A parameter or the body is invalid; the message names it" },
        ...(spec.open ? {} : { "401": { description: "Missing or unknown bearer token" } }),
        "404": { description: "Not found" },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Vigil monitor API", version: "1", description: "Service quality, model quality, drift, SLOs, alerts, traces and the prediction log. Times are ISO 8601, epoch milliseconds, now, or -<duration>." },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths,
  };
}

export const OPENAPI_PATH = "/api/openapi.json";

const issues = (error: z.ZodError, where: string) => error.issues.map((i) => `${where}${i.path.length ? `.${i.path.join(".")}` : ""}: ${i.message}`).join("; ");

/** The monitor's HTTP API (Fastify): JSON, bound SQL parameters only, 400s that name the field, bearer-token auth. */
export function buildMonitorApi(options: MonitorApiOptions): FastifyInstance {
  const app = Fastify({ bodyLimit: options.bodyLimit ?? 64 * 1024, logger: false });
  const tokens = new TokenSet(options.tokens);
  const specs = routes(options);
  const document = openApiDocument(specs);
  app.get(OPENAPI_PATH, async () => document);
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    const status = error instanceof ApiError ? error.statusCode : error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    void reply.status(status).send({ error: status === 500 ? `internal error: ${error.message}` : error.message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: `no route ${request.method} ${request.url.split("?")[0]}; the routes are listed at ${OPENAPI_PATH}` });
  });
  for (const spec of specs) {
    app.route({
      method: spec.method,
      url: spec.path,
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        if (!spec.open && tokens.enabled) {
          const token = bearerToken(request.headers.authorization);
          if (token === undefined || !tokens.accepts(token)) {
            void reply.header("www-authenticate", 'Bearer realm="vigil"');
            throw new ApiError(401, token === undefined ? "missing credentials: send 'Authorization: Bearer <token>'" : "bearer token not accepted");
          }
        }
        const parse = (schema: z.ZodType | undefined, value: unknown, where: string) => {
          if (!schema) return {};
          const result = schema.safeParse(value ?? {});
          if (!result.success) throw new ApiError(400, issues(result.error, where));
          return result.data as Record<string, unknown>;
        };
        return spec.handler({ params: parse(spec.params, request.params, "path"), query: parse(spec.query, request.query, "query"), body: spec.body ? parse(spec.body, request.body, "body") : undefined });
      },
    });
  }
  return app;
}

/** Starts the API on host:port (0 picks a free port); resolves to its address. */
export async function startMonitorApi(options: MonitorApiOptions & { host: string; port: number }): Promise<{ url: string; port: number; close: () => Promise<void> }> {
  const app = buildMonitorApi(options);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return { url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`, port, close: () => app.close() };
}

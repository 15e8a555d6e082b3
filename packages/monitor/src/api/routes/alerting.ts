import { formatDuration, parseDuration, parseTime } from "@vigil/config";
import { z } from "zod";
import { activeAlerts, alertHistory } from "../alert-history.js";
import { createSilence, expireSilence, listSilences } from "../../alerting/silences.js";
import { burnRate, burnRateAlerts, sloEvents, sloEventsPerStep } from "../../alerting/slo.js";
import { sloReport } from "../../alerting/slo-report.js";
import { InvalidRequestError, NotFoundError } from "../../errors.js";
import { defineRoute, type MonitorApiOptions, type Route } from "../route.js";
import { NAME, range, seriesRange } from "../params.js";
import { alertsSchema, silenceSchema, silencesSchema, sloBurnSchema, slosSchema } from "../schemas.js";

/** SLO status and burn, alerts now and in the past, and silences. */
export function alertingRoutes({ engine, slos }: MonitorApiOptions): Route[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/slos",
      summary: "Each SLO over its window: attainment, error budget and burn rates",
      response: slosSchema,
      handler: async () => {
        // Up to the end of the current minute, so traffic of the last seconds counts.
        const now = Math.ceil(Date.now() / 60_000) * 60_000;
        return Promise.all(
          slos.map(async (slo) => {
            const report = await sloReport(engine, slo, now - slo.windowMs, now);
            const burn = async (ms: number) => burnRate(await sloEvents(engine, slo, now - ms, now), slo.objective);
            return {
              ...report,
              burnRates: { "1h": await burn(3_600_000), "6h": await burn(6 * 3_600_000), "1d": await burn(86_400_000), "3d": await burn(3 * 86_400_000) },
              burnRateAlerts: burnRateAlerts(slo).map((a) => ({
                severity: a.severity,
                longWindow: formatDuration(a.longMs),
                shortWindow: formatDuration(a.shortMs),
                factor: a.factor,
              })),
            };
          }),
        );
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/slos/:slo/burn",
      summary: "An SLO's good and total events and burn rate per step over a range",
      params: z.object({ slo: NAME }),
      query: range,
      response: sloBurnSchema,
      handler: async ({ params, query }) => {
        const slo = slos.find((s) => s.name === params.slo);
        if (!slo) throw new NotFoundError(`no SLO named "${params.slo}" (SLOs: ${slos.map((s) => s.name).join(", ") || "none"})`);
        const r = seriesRange(query);
        const start = Math.floor(r.fromMs / r.stepMs) * r.stepMs;
        const byStart = new Map((await sloEventsPerStep(engine, slo, start, r.toMs, r.stepMs)).map((e) => [e.startMs, e]));
        const points = [];
        for (let t = start; t < r.toMs; t += r.stepMs) {
          const events = byStart.get(t) ?? { good: 0, total: 0 };
          points.push({ t: new Date(t).toISOString(), good: events.good, total: events.total, burnRate: burnRate(events, slo.objective) });
        }
        return { slo: slo.name, objective: slo.objective, stepMs: r.stepMs, points };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/alerts",
      summary: "Alerts pending or firing now",
      response: alertsSchema,
      handler: async () => activeAlerts(engine),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/alerts/history",
      summary: "Alert state changes in a range, newest first",
      query: range.extend({ limit: z.coerce.number().int().min(1).max(5000).default(500) }),
      response: alertsSchema,
      handler: async ({ query }) => {
        const r = seriesRange(query);
        return alertHistory(engine, r.fromMs, r.toMs, query.limit);
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/silences",
      summary: "Silences, newest first (expired ones included)",
      response: silencesSchema,
      handler: async () => listSilences(engine),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/silences",
      summary: "Create a silence",
      body: z.strictObject({
        matchers: z.array(z.string().min(1).max(500)).min(1).max(20),
        duration: z.string().max(20).optional(),
        endsAt: z.string().max(40).optional(),
        createdBy: z.string().max(200).default(""),
        comment: z.string().max(2000).default(""),
      }),
      response: silenceSchema,
      handler: async ({ body }) => {
        const { matchers, duration, endsAt, createdBy, comment } = body;
        if ((duration === undefined) === (endsAt === undefined)) throw new InvalidRequestError('give either "duration" (e.g. "2h") or "endsAt" (ISO 8601)');
        let endsAtMs: number;
        try {
          endsAtMs = duration !== undefined ? Date.now() + parseDuration(duration) : parseTime(endsAt!);
        } catch (error) {
          throw new InvalidRequestError(`${duration !== undefined ? "duration" : "endsAt"}: ${(error as Error).message}`);
        }
        return createSilence(engine, { matchers, endsAt: endsAtMs, createdBy, comment });
      },
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/silences/:id",
      summary: "Expire a silence now",
      params: z.object({ id: z.string().uuid() }),
      response: silenceSchema,
      handler: async ({ params }) => expireSilence(engine, params.id),
    }),
  ];
}

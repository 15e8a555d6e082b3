import { alertingHealthFromHistory } from "../alert-history.js";
import type { Alerting } from "../../alerting/alerting.js";
import { defineRoute, type MonitorApiOptions, type Route } from "../route.js";
import { modelScope, range, seriesRange } from "../params.js";
import { overviewSeries, overviewTotals } from "../queries.js";
import { healthSchema, overviewSchema } from "../schemas.js";

/** The live evaluator's health, with the alerts it holds pending and firing. */
function evaluatorHealth(alerting: Alerting) {
  const health = alerting.evaluator.health();
  const current = alerting.evaluator.current();
  return {
    source: "evaluator" as const,
    evaluations: health.evaluations,
    ruleFailures: health.ruleFailures,
    ...(health.lastEvaluationAt === undefined ? {} : { lastEvaluationAt: health.lastEvaluationAt }),
    firing: current.filter((a) => a.state === "firing").length,
    pending: current.filter((a) => a.state === "pending").length,
  };
}

/** Health of the API and its store, and the serving overview of all models or one. */
export function overviewRoutes({ engine, alerting }: MonitorApiOptions): Route[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/health",
      summary: "Liveness of the API and its store",
      open: true,
      response: healthSchema,
      handler: async ({ authenticated }) => {
        await engine.ping();
        return {
          status: "ok" as const,
          ...(authenticated ? { store: engine.location } : {}),
          alerting: alerting ? evaluatorHealth(alerting) : await alertingHealthFromHistory(engine),
        };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/overview",
      summary: "Requests, server-side errors and latency percentiles over a range, per step and in total",
      query: range.extend(modelScope.shape),
      response: overviewSchema,
      handler: async ({ query }) => {
        const r = seriesRange(query);
        const [series, totals] = await Promise.all([
          overviewSeries(engine, r, query.model, query.version),
          overviewTotals(engine, r, query.model, query.version),
        ]);
        return { from: new Date(r.fromMs).toISOString(), to: new Date(r.toMs).toISOString(), stepMs: r.stepMs, totals, series };
      },
    }),
  ];
}

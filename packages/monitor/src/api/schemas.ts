import { z } from "zod";
import { ROLLOUT_MODES } from "@vigil/model-repository";
import { PREDICTION_ROLES, ROLLOUT_ACTIONS, type TraceSpan } from "@vigil/store";

/**
 * The monitor API's response bodies as zod schemas: the one description of them that the
 * handlers are typed from, the OpenAPI document is generated from, the tests parse responses
 * with, and the dashboard's types are inferred from. They describe JSON as it arrives, so a
 * non-finite number the server computes (an overspent budget with no bad events allowed) is
 * the null JSON makes of it.
 */
export const responseSchemas = z.registry<{ id: string }>();

const named = <T extends z.ZodType>(id: string, schema: T): T => {
  responseSchemas.add(schema, { id });
  return schema;
};

const ISO = z.string().describe("ISO 8601 time");
/** A stretch of time a figure covers, as every route writes times: RFC 3339 in UTC (ending Z). */
const timeSpanSchema = z.object({ from: ISO, to: ISO });
const stringMap = z.record(z.string(), z.string());

export const errorSchema = named("Error", z.object({ error: z.string().describe("What went wrong, naming the field or the thing not found") }));

export const healthSchema = named(
  "Health",
  z.object({
    status: z.literal("ok"),
    store: z
      .string()
      .optional()
      .describe("Where the store lives (never with credentials); only to callers with a token, since it names the server's directories"),
    alerting: z
      .discriminatedUnion("source", [
        z.object({
          source: z.literal("evaluator").describe("Alert rules are evaluated in this process"),
          evaluations: z.number(),
          ruleFailures: stringMap.describe("Rule name to its last failure"),
          lastEvaluationAt: z.number().optional().describe("Epoch milliseconds of the last evaluation"),
          firing: z.number(),
          pending: z.number(),
        }),
        z.object({
          source: z.literal("history").describe("Alert rules are evaluated elsewhere; read from the alert history the evaluator writes"),
          lastChangeAt: ISO.nullable().describe("The newest alert state change recorded; null when none is"),
          firing: z.number(),
          pending: z.number(),
        }),
      ])
      .describe("Alert evaluation: this process's evaluator, or the alert history when alerting runs in another process"),
  }),
);

/** Serving figures over a stretch of time: requests, server-side errors and latency percentiles. */
const servingFiguresSchema = z.object({
  requests: z.number().describe("Requests (a batched request counts once), as vigil_inference_requests_total counts them"),
  errors: z.number().describe("Requests that failed on the server's side"),
  errorRate: z.number().nullable().describe("errors / requests; null without requests"),
  rows: z.number().describe("Prediction rows: a batched request of n rows has n"),
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
});

export const overviewPointSchema = named("OverviewPoint", servingFiguresSchema.extend({ t: ISO.describe("Start of the step") }));

export const overviewTotalsSchema = named(
  "OverviewTotals",
  servingFiguresSchema.extend({
    models: z.array(
      z.object({ model: z.string(), version: z.string(), requests: z.number(), errors: z.number(), errorRate: z.number().nullable(), rows: z.number() }),
    ),
  }),
);

export const overviewSchema = named(
  "Overview",
  z.object({ from: ISO, to: ISO, stepMs: z.number(), totals: overviewTotalsSchema, series: z.array(overviewPointSchema) }),
);

export const repositoryModelSchema = named(
  "RepositoryModel",
  z.object({
    name: z.string(),
    classifier: z.boolean(),
    classes: z.array(z.string()).describe("Class names of a classifier, in score order; empty for a regression model"),
    inputs: z.array(z.object({ name: z.string(), kind: z.enum(["numerical", "categorical"]) })).describe("Monitored inputs, in the model's order"),
    versions: z.array(
      z.object({
        version: z.string(),
        reference: z.boolean().describe("Whether drift can be judged: the version has a reference file or a stored reference profile"),
        firstServedAt: ISO.nullable().describe(
          "Start of the oldest minute in which it answered a request successfully, as far as the store keeps its rollups: where the dashboard marks a deploy; null when it never did",
        ),
        lastServedAt: ISO.nullable().describe("Start of the newest minute in which it answered a request successfully; null when it never did"),
      }),
    ),
    servingVersion: z
      .string()
      .nullable()
      .describe(
        "The version with the most recent successful traffic (ties: the higher version); when none has served, the highest version; null without versions",
      ),
  }),
);

export const modelsSchema = named("Models", z.object({ models: z.array(repositoryModelSchema) }));

export const resultPointSchema = named(
  "ResultPoint",
  z.object({
    windowStart: ISO,
    windowEnd: ISO,
    metric: z.string(),
    feature: z.string().describe("The monitored input; empty for figures of the whole model"),
    value: z.number(),
    threshold: z.number().nullable(),
    breached: z.boolean(),
    details: z.record(z.string(), z.unknown()),
  }),
);

export const modelResultsSchema = named("ModelResults", z.object({ model: z.string(), points: z.array(resultPointSchema) }));

export const segmentReportSchema = named(
  "SegmentReport",
  z.object({
    model: z.string(),
    version: z.string(),
    segment: z.string().nullable().describe("input=category, input=from..to or client=id; null for every row"),
    points: z.array(resultPointSchema),
  }),
);

const accuracySideSchema = z.object({ rows: z.number().int(), accuracy: z.number().nullable() });

export const accuracyChangeSchema = named(
  "AccuracyChange",
  z.object({
    baseline: accuracySideSchema,
    current: accuracySideSchema,
    categories: z
      .array(
        z.object({
          input: z.string(),
          category: z.string(),
          baseline: accuracySideSchema,
          current: accuracySideSchema,
          contribution: z.number().describe("this category's term in the change of overall accuracy (shares of 1, not points)"),
          performance: z.number().describe("the part from the category's own accuracy changing"),
          mix: z.number().describe("the part from the category's share of the rows changing"),
        }),
      )
      .describe("every category of every categorical input, the most negative contribution first"),
  }),
);

const classScoresSchema = z.object({ precision: z.number(), recall: z.number(), f1: z.number() });

/** The figures a confusion matrix determines; both confusion routes answer with them. */
const confusionFiguresSchema = z.object({
  rows: z.number().describe("Labelled predictions in the range"),
  accuracy: z.number().nullable(),
  classes: z.array(z.string()),
  perClass: z.array(classScoresSchema.extend({ class: z.string(), support: z.number() })),
  macro: classScoresSchema,
  micro: classScoresSchema,
  weighted: classScoresSchema,
  confusion: z.array(z.array(z.number())).describe("confusion[t][p]: labelled t, predicted p, in classes order"),
  logLoss: z.number().nullable(),
  brier: z.number().nullable(),
  expectedCalibrationError: z.number().nullable(),
  calibration: z.array(z.object({ lower: z.number(), upper: z.number(), rows: z.number(), meanConfidence: z.number(), accuracy: z.number() })),
});

export const confusionSchema = named(
  "Confusion",
  confusionFiguresSchema.extend({
    window: timeSpanSchema.describe("The range the figures cover"),
    rocAucPerClass: z.array(z.number().nullable()),
    rocAuc: z.number().nullable(),
    labelCoverage: z.object({
      predictions: z.number(),
      labelled: z.number(),
      share: z.number().nullable(),
      meanDelaySeconds: z.number().nullable(),
      medianDelaySeconds: z.number().nullable(),
    }),
  }),
);

export const windowConfusionSchema = named(
  "WindowConfusion",
  confusionFiguresSchema.extend({
    window: timeSpanSchema
      .nullable()
      .describe("From the first combined monitor window's start to the last one's end (windows that end in the range); null when the range holds none"),
    windows: z.number().describe("Monitor windows combined (a window once per model version)"),
    rocAucWindowMean: z
      .number()
      .nullable()
      .describe("The windows' ROC AUC weighted by their labelled rows; AUC does not add over windows, so this approximates the range's"),
  }),
);

export const histogramSchema = named(
  "Histogram",
  z.object({
    feature: z.string(),
    kind: z.enum(["numerical", "categorical"]),
    bins: z.union([z.object({ edges: z.array(z.number()).describe("Upper bounds of every bin but the last") }), z.object({ categories: z.array(z.string()) })]),
    reference: z.array(z.number()),
    current: z.array(z.number()),
    psi: z.number(),
    jensenShannon: z.number(),
  }),
);

export const histogramsSchema = named(
  "Histograms",
  z.object({
    model: z.string(),
    version: z.string().describe("The version asked for, or the serving version when none was"),
    window: timeSpanSchema.describe("The range the current counts cover"),
    inputs: z.array(histogramSchema),
  }),
);

const sloPeriodSchema = z.object({ from: ISO, to: ISO, good: z.number(), total: z.number(), attainment: z.number().nullable() });

export const sloStatusSchema = named(
  "SloStatus",
  z.object({
    slo: z.string(),
    description: z.string(),
    model: z.string(),
    indicator: z.enum(["availability", "latency"]),
    thresholdMs: z.number().nullable(),
    objective: z.number(),
    window: z.string(),
    period: z.object({ from: ISO, to: ISO }),
    good: z.number(),
    total: z.number(),
    bad: z.number(),
    attainment: z.number().nullable(),
    met: z.boolean().nullable(),
    budget: z.object({
      allowedBad: z.number(),
      spent: z.number().nullable().describe("Share of the allowed bad events spent; null without events, or when none are allowed and some happened"),
      remaining: z.number().nullable(),
    }),
    worst: z.array(sloPeriodSchema),
    incidents: z.array(z.object({ alertname: z.string(), severity: z.string(), startsAt: ISO, endsAt: ISO.nullable(), labels: stringMap })),
    burnRates: z.object({ "1h": z.number(), "6h": z.number(), "1d": z.number(), "3d": z.number() }),
    burnRateAlerts: z
      .array(z.object({ severity: z.string(), longWindow: z.string(), shortWindow: z.string(), factor: z.number() }))
      .describe("The SLO's multi-window burn-rate alerts: each fires when both windows burn faster than factor"),
  }),
);

export const slosSchema = named("SloStatuses", z.array(sloStatusSchema));

export const sloBurnSchema = named(
  "SloBurn",
  z.object({
    slo: z.string(),
    objective: z.number(),
    stepMs: z.number(),
    points: z.array(z.object({ t: ISO, good: z.number(), total: z.number(), burnRate: z.number() })),
  }),
);

export const alertSchema = named(
  "Alert",
  z.object({
    fingerprint: z.string(),
    rule: z.string(),
    labels: stringMap,
    annotations: stringMap,
    state: z.string(),
    value: z.number().describe("The value the rule judged (for SLO burn-rate alerts, the burn rate over the long window)"),
    condition: z
      .object({
        metric: z.string().describe("As the rule names it; burn_rate for SLO burn-rate alerts, z_score(<metric>) for anomaly rules"),
        op: z.string(),
        threshold: z.number(),
      })
      .nullable()
      .describe("The rule's condition; null for alerts recorded before conditions were"),
    window: z
      .object({ start: ISO, end: ISO })
      .nullable()
      .describe("The stretch of time the value was computed over (a monitor window, the complete minutes of a serving metric's range, an SLO's long window)"),
    startsAt: ISO,
    endsAt: ISO.nullable(),
    changedAt: ISO,
  }),
);

export const alertsSchema = named("Alerts", z.array(alertSchema));

export const silenceSchema = named(
  "Silence",
  z.object({
    id: z.string(),
    matchers: z.array(z.object({ name: z.string(), op: z.enum(["=", "!=", "=~", "!~"]), value: z.string() })),
    startsAt: z.number().describe("Epoch milliseconds"),
    endsAt: z.number().describe("Epoch milliseconds"),
    createdBy: z.string(),
    comment: z.string(),
  }),
);

export const silencesSchema = named("Silences", z.array(silenceSchema));

/** The one time format of the trace and prediction routes: RFC 3339 in UTC, as many fraction digits as the store keeps. */
const RFC3339 = z.iso.datetime().describe("RFC 3339 time in UTC (ending in Z)");

export const traceSummarySchema = named(
  "TraceSummary",
  z.object({
    traceId: z.string(),
    start: RFC3339,
    durationMs: z.number().describe("The server span's duration in milliseconds"),
    model: z.string(),
    status: z.string().describe("gRPC status name of the call"),
    requestId: z.string().describe("The request id its predictions are logged under"),
    spans: z.number(),
  }),
);

export const tracesSchema = named("Traces", z.array(traceSummarySchema));

const spanEventSchema = z.object({
  time: RFC3339,
  offsetMs: z.number().describe("From the trace's first span"),
  name: z.string(),
  attributes: stringMap,
});

/** Spans nest, so the schema is annotated with the store's span tree type to refer to itself. */
export const traceSpanSchema: z.ZodType<TraceSpan> = named(
  "TraceSpan",
  z.object({
    spanId: z.string(),
    parentSpanId: z.string(),
    name: z.string(),
    kind: z.string(),
    start: RFC3339,
    startOffsetMs: z.number().describe("From the trace's first span to this span's start"),
    durationMs: z.number(),
    statusCode: z.string().describe("Unset, Ok or Error"),
    statusMessage: z.string(),
    attributes: stringMap,
    events: z.array(spanEventSchema),
    get children() {
      return z.array(traceSpanSchema);
    },
  }),
);

export const tracePredictionSchema = z.object({ requestId: z.string(), rowIndex: z.number(), model: z.string(), version: z.string(), status: z.string() });

export const traceSchema = named(
  "Trace",
  z.object({
    traceId: z.string(),
    start: RFC3339,
    durationMs: z.number().describe("From the first span's start to the last span's end"),
    spans: z.array(traceSpanSchema),
    predictions: z.array(tracePredictionSchema).describe("The prediction log's rows of this trace's requests (at most 100)"),
  }),
);

export const predictionRowSchema = named(
  "PredictionRow",
  z.object({
    timestamp: RFC3339.describe("When the request arrived, RFC 3339 in UTC to the microsecond"),
    requestId: z.string(),
    rowIndex: z.number(),
    model: z.string(),
    version: z.string(),
    status: z.string(),
    error: z.string(),
    latencyMs: z.number(),
    prediction: z.string(),
    confidence: z.number(),
    label: z.string().nullable(),
    traceId: z.string(),
    role: z
      .enum(PREDICTION_ROLES)
      .describe(
        "primary: answered by the model's primary (or the named) version; canary: answered by a rollout's candidate. Shadow answers are listed under their request row's detail",
      ),
  }),
);

export const predictionPageSchema = named(
  "PredictionPage",
  z.object({ rows: z.array(predictionRowSchema), nextCursor: z.string().nullable().describe("Pass as cursor for the next page; null on the last") }),
);

export const predictionDetailSchema = named(
  "PredictionDetail",
  predictionRowSchema.extend({
    features: z.array(z.number()).describe("The recorded feature values, as logged"),
    inputs: z
      .array(z.object({ name: z.string(), value: z.number(), category: z.string().nullable().describe("A categorical input's category name for its code") }))
      .describe("The model's monitored feature inputs with their values, in order; empty when the model is not known"),
    scores: z.array(z.number()),
    queueMs: z.number(),
    computeMs: z.number(),
    batchSize: z.number(),
    client: z.string(),
    labelledAt: RFC3339.nullable(),
    shadows: z
      .array(
        z.object({
          version: z.string(),
          status: z.string(),
          error: z.string(),
          prediction: z.string(),
          confidence: z.number(),
          scores: z.array(z.number()),
          latencyMs: z.number().describe("From when the shadow was queued, after the client's answer"),
          computeMs: z.number(),
        }),
      )
      .describe("A shadow candidate's answers to this request row, which the client never got (rollouts in shadow mode)"),
  }),
);

export type ErrorResponse = z.infer<typeof errorSchema>;
export type HealthResponse = z.infer<typeof healthSchema>;
export type OverviewPoint = z.infer<typeof overviewPointSchema>;
export type OverviewTotals = z.infer<typeof overviewTotalsSchema>;
export type OverviewResponse = z.infer<typeof overviewSchema>;
export type RepositoryModelResponse = z.infer<typeof repositoryModelSchema>;
export type ModelsResponse = z.infer<typeof modelsSchema>;
export type ResultPoint = z.infer<typeof resultPointSchema>;
export type ModelResultsResponse = z.infer<typeof modelResultsSchema>;
export type SegmentReportResponse = z.infer<typeof segmentReportSchema>;
export type AccuracyChangeResponse = z.infer<typeof accuracyChangeSchema>;
export type ConfusionResponse = z.infer<typeof confusionSchema>;
export type WindowConfusionResponse = z.infer<typeof windowConfusionSchema>;
export type Histogram = z.infer<typeof histogramSchema>;
export type HistogramsResponse = z.infer<typeof histogramsSchema>;
export type SloStatus = z.infer<typeof sloStatusSchema>;
export type SlosResponse = z.infer<typeof slosSchema>;
export type SloBurnResponse = z.infer<typeof sloBurnSchema>;
export type AlertsResponse = z.infer<typeof alertsSchema>;
export type SilenceResponse = z.infer<typeof silenceSchema>;
export type SilencesResponse = z.infer<typeof silencesSchema>;
export type TraceSummary = z.infer<typeof traceSummarySchema>;
export type TracesResponse = z.infer<typeof tracesSchema>;
export type TraceResponse = z.infer<typeof traceSchema>;
export type TracePrediction = z.infer<typeof tracePredictionSchema>;
export type PredictionRow = z.infer<typeof predictionRowSchema>;
export type PredictionPageResponse = z.infer<typeof predictionPageSchema>;
export type PredictionDetail = z.infer<typeof predictionDetailSchema>;

const rolloutFiguresSchema = z.object({
  version: z.string(),
  rows: z.number().describe("Prediction rows of this version in the rollout's role (primary; canary or shadow)"),
  errors: z.number().describe("Rows that failed on the server's side"),
  errorRate: z.number().nullable(),
  labelled: z.number().describe("OK rows with a label"),
  accuracy: z.number().nullable().describe("Correct share of the labelled rows; null without labels"),
  latencyMs: z
    .object({ p50: z.number(), p95: z.number(), p99: z.number() })
    .nullable()
    .describe("Exact percentiles of OK calls (one per request) of the judgement's `timing`"),
});

const verdictSchema = z.enum(["better", "worse", "not yet distinguishable"]);

const agreementSchema = z
  .object({ pairs: z.number(), agree: z.number(), rate: z.number().nullable(), low: z.number().nullable(), high: z.number().nullable() })
  .describe("Shadow: the share of request rows both versions answered OK for which they predicted the same, with its 95% Wilson interval");

export const rolloutSchema = named(
  "Rollout",
  z.object({
    model: z.string(),
    rollout: z
      .object({
        policyId: z.string(),
        policy: z.record(z.string(), z.unknown()).describe("The rollout policy as config.json gives it, defaults filled in"),
        mode: z.enum(ROLLOUT_MODES),
        primaryVersion: z.string(),
        candidateVersion: z.string(),
        state: z.enum(["pending", "active", "rolled_back", "promoted"]).describe("pending: no server has applied the policy yet"),
        startedAt: ISO.nullable().describe("The policy's earliest 'started' event: judging counts rows from here"),
        events: z.array(z.object({ at: ISO, action: z.enum(ROLLOUT_ACTIONS), actor: z.string(), reason: z.string() })),
        judgement: z
          .object({
            from: ISO,
            to: ISO,
            look: z.number().describe("Monitor windows since the start (the one in progress counting)"),
            alpha: z.number().describe("The significance this look spends: significance * 6 / (pi^2 look^2), split evenly among its tests"),
            versions: z.object({
              primary: rolloutFiguresSchema.extend({ estimatedAccuracy: z.number().nullable().describe("CBPE's newest estimate, when the monitor has one") }),
              candidate: rolloutFiguresSchema.extend({ estimatedAccuracy: z.number().nullable() }),
            }),
            agreement: agreementSchema.nullable(),
            timing: z
              .enum(["latency", "compute"])
              .describe(
                "What latencyMs and the latency test compare: a canary's whole latency; a shadow's model compute time (a shadow runs after the primary's answer and yields to its requests, so its whole latency is not comparable)",
              ),
            tests: z.array(
              z.object({
                name: z.enum(["accuracy", "error_rate", "latency"]),
                method: z.enum(["mcnemar_exact", "two_proportion_z", "mann_whitney_u"]),
                statistic: z.number().nullable(),
                pValue: z.number(),
                alpha: z.number(),
                difference: z.number().nullable().describe("Candidate minus primary; latency: the candidate's U / (n1 n2) - 1/2"),
                low: z.number().nullable().describe("95% interval of the difference; null where the test gives none"),
                high: z.number().nullable(),
                n: z.number(),
                verdict: verdictSchema,
              }),
            ),
            verdict: verdictSchema,
            sentence: z.string(),
            windows: z.array(
              z.object({
                from: ISO,
                to: ISO,
                look: z.number(),
                primary: rolloutFiguresSchema,
                candidate: rolloutFiguresSchema,
                agreement: agreementSchema.nullable(),
                verdict: verdictSchema.nullable().describe("The monitor's verdict at this window's end; null where it has none stored"),
              }),
            ),
          })
          .nullable()
          .describe("null until a server applied the policy"),
      })
      .nullable()
      .describe("null when config.json names no rollout and none is recorded"),
  }),
);
export type RolloutResponse = z.infer<typeof rolloutSchema>;

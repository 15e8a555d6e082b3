import type { StoreEngine } from "@vigil/store";
import { z } from "zod";
import type { Alerting } from "../alerting/alerting.js";
import type { Slo } from "../alerting/slo.js";
import { InvalidRequestError, NotFoundError } from "../errors.js";
import type { MonitoredModel } from "../job.js";
import type { FeatureSpec } from "../profiles.js";
import type { RolloutModel } from "../rollout/rollout-monitor.js";

/** What the API needs to know about a model beyond the store: its classes, monitored inputs and reference profiles. */
/** A model as the API sees it: what the monitor judges of it, and every input it monitors (judged or not, for segments). */
export type LookedUpModel = MonitoredModel & { inputs: FeatureSpec[] };
export type ModelLookup = (model: string, version: string) => Promise<LookedUpModel | undefined>;

/** A model as the model repository holds it: its version directories and what the monitor watches of it. */
export interface RepositoryModel {
  name: string;
  /** Version directories, each with whether it holds a reference file (reference.jsonl). */
  versions: Array<{ version: string; referenceFile: boolean }>;
  /** Class names of a classifier; absent for a regression model. */
  classes?: string[];
  inputs: FeatureSpec[];
}
/** Every model in the repository, read when asked (the repository may change while the API runs). */
export type RepositoryListing = () => Promise<RepositoryModel[]>;

export interface MonitorApiOptions {
  engine: StoreEngine;
  /** Bearer tokens; every route but /api/v1/health and the OpenAPI document needs one when set. */
  tokens: readonly string[];
  models: ModelLookup;
  /**
   * The model repository, for GET /api/v1/models and to name a model's versions. Without it the
   * API lists no models, and a model's serving version is read from its traffic alone.
   */
  repository?: RepositoryListing;
  slos: Slo[];
  /** The models' rollout policies (config.json `rollout`), for GET /api/v1/models/{model}/rollout. */
  rollouts?: () => RolloutModel[];
  /** The monitor's step: a rollout's looks are counted in it (1h when absent, the monitor's default). */
  monitorStepMs?: number;
  /** Alerting in this process, for its live state; otherwise alerts come from the history. */
  alerting?: Alerting;
  /** Most bytes a request body may have. */
  bodyLimit?: number;
}

/** The model a route names, or a 404 that says why the monitor does not know it. */
export async function requireModel(options: MonitorApiOptions, name: string, version: string): Promise<LookedUpModel> {
  const found = await options.models(name, version);
  if (!found) throw new NotFoundError(`model "${name}" is not known to the monitor (it has no config.json in the model repository)`);
  return found;
}

const NO_INPUT = z.object({});
type NoInput = typeof NO_INPUT;
type Method = "GET" | "POST" | "DELETE";

/**
 * One route as written: its schemas, and a handler whose input and result are typed from them,
 * so a handler cannot read a parameter its schema lacks or return a body its schema does not describe.
 *
 * Requests are parsed; responses are not, at run time. The compiler already holds every body to
 * its schema's shape, and the tests parse every response through its schema as JSON (the form
 * the schema describes: an infinite budget-spent is null there). What a run-time check could
 * still catch, an odd value from the store, would become a 500 that blanks a dashboard page in
 * the middle of an incident, and the largest bodies (5,000 alert changes, 1,000 traces) would be
 * walked a second time on every request.
 */
export interface RouteSpec<P extends z.ZodObject, Q extends z.ZodObject, B extends z.ZodType, R extends z.ZodType> {
  method: Method;
  url: string;
  summary: string;
  /** Answers without a bearer token. */
  open?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  /** `authenticated`: the caller sent an accepted token, or the API has none; lets an open route show more to operators. */
  handler: (input: { params: z.output<P>; query: z.output<Q>; body: z.output<B>; authenticated: boolean }) => Promise<z.output<R>>;
}

/** A route with its types sealed in, as the server and the OpenAPI document take it. */
export interface Route {
  method: Method;
  url: string;
  summary: string;
  open: boolean;
  params: z.ZodObject | undefined;
  query: z.ZodObject | undefined;
  body: z.ZodType | undefined;
  response: z.ZodType;
  /** Validates the request's parts (a 400 naming each bad field) and runs the handler. */
  handle(request: { params: unknown; query: unknown; body: unknown; authenticated: boolean }): Promise<unknown>;
}

const issues = (error: z.ZodError, where: string) => error.issues.map((i) => `${where}${i.path.length ? `.${i.path.join(".")}` : ""}: ${i.message}`).join("; ");

function parsePart<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new InvalidRequestError(issues(result.error, where));
  return result.data;
}

/** Seals a route's types in; the type parameters are inferred from the spec's schemas. */
export function defineRoute<
  P extends z.ZodObject = NoInput,
  Q extends z.ZodObject = NoInput,
  B extends z.ZodType = z.ZodUndefined,
  R extends z.ZodType = z.ZodType,
>(spec: RouteSpec<P, Q, B, R>): Route {
  return {
    method: spec.method,
    url: spec.url,
    summary: spec.summary,
    open: spec.open ?? false,
    params: spec.params,
    query: spec.query,
    body: spec.body,
    response: spec.response,
    // A schema left out means its type parameter kept its default, which the compiler cannot
    // connect to the `??` fallback; hence the casts.
    handle: (request) =>
      spec.handler({
        params: parsePart(spec.params ?? NO_INPUT, request.params, "path") as z.output<P>,
        query: parsePart(spec.query ?? NO_INPUT, request.query, "query") as z.output<Q>,
        body: (spec.body ? parsePart(spec.body, request.body, "body") : undefined) as z.output<B>,
        authenticated: request.authenticated,
      }),
  };
}

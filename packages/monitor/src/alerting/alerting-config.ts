import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { durationSchema, formatZodIssues } from "@vigil/config";
import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import type { InhibitRule, Route } from "./dispatcher.js";
import { parseMatcher } from "./alert-labels.js";
import { type AlertRule, ruleInputSchema } from "./rules.js";
import { type Slo, parseSlo } from "./slo.js";
import type { WebhookReceiver } from "./webhook.js";

const matcherList = z.array(z.string()).default([]);

interface RouteInput {
  receiver?: string;
  matchers?: string[];
  group_by?: string[];
  group_wait?: string | number;
  group_interval?: string | number;
  repeat_interval?: string | number;
  continue?: boolean;
  routes?: RouteInput[];
}

const routeSchema: z.ZodType<RouteInput> = z.lazy(() =>
  z.strictObject({
    receiver: z.string().optional(),
    matchers: z.array(z.string()).optional(),
    group_by: z.array(z.string()).optional(),
    group_wait: z.union([z.string(), z.number()]).optional(),
    group_interval: z.union([z.string(), z.number()]).optional(),
    repeat_interval: z.union([z.string(), z.number()]).optional(),
    continue: z.boolean().optional(),
    routes: z.array(routeSchema).optional(),
  }),
);

export const alertingConfigSchema = z.strictObject({
  /** How often rules are evaluated (Prometheus' default is 1m). */
  evaluation_interval: durationSchema.prefault("30s"),
  /** Where people reach Vigil (the dashboard); alerts link back to it. */
  external_url: z.string().url().default("http://127.0.0.1:3000"),
  /** Deliveries not yet accepted wait here across restarts. */
  outbox_dir: z.string().min(1).default(".vigil/outbox"),
  rules: z.array(ruleInputSchema).default([]),
  /** SLOs inline (Vigil's short form or OpenSLO v1), and YAML files of them (paths relative to this file). */
  slos: z.array(z.unknown()).default([]),
  slo_files: z.array(z.string()).default([]),
  receivers: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        webhook: z.strictObject({
          url: z.string().url(),
          /** HMAC key, or the name of an environment variable holding it. */
          secret: z.string().optional(),
          secret_env: z.string().optional(),
          send_resolved: z.boolean().default(true),
          max_alerts: z.number().int().min(0).default(0),
          timeout: durationSchema.prefault("10s"),
          give_up_after: durationSchema.prefault("24h"),
          /** Longest wait between retries of a failing delivery (waits double from 1 s up to it). */
          max_backoff: durationSchema.prefault("5m"),
        }),
      }),
    )
    .default([]),
  route: routeSchema.optional(),
  inhibit_rules: z.array(z.strictObject({ source_matchers: matcherList, target_matchers: matcherList, equal: z.array(z.string()).default([]) })).default([]),
  /** A real Alertmanager to push alerts to, as Prometheus does. */
  alertmanager: z.strictObject({ url: z.string().url(), timeout: durationSchema.prefault("10s") }).optional(),
});

export interface AlertingConfig {
  evaluationIntervalMs: number;
  externalUrl: string;
  outboxDir: string;
  rules: AlertRule[];
  slos: Slo[];
  receivers: Array<WebhookReceiver & { sendResolved: boolean; maxAlerts: number }>;
  route: Route;
  inhibitRules: InhibitRule[];
  alertmanager: { url: string; timeoutMs: number } | undefined;
}

/** Alertmanager's defaults. */
const ROUTE_DEFAULTS = { groupBy: ["alertname"], groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3_600_000 };

function buildRoute(input: RouteInput, parent: Omit<Route, "id" | "matchers" | "continue" | "routes"> | undefined, id: string, receivers: Set<string>): Route {
  const receiver = input.receiver ?? parent?.receiver;
  if (!receiver) throw new ConfigError(`route ${id}: no receiver (the top route needs one; others inherit it)`);
  if (!receivers.has(receiver))
    throw new ConfigError(`route ${id}: receiver "${receiver}" is not among the receivers (${[...receivers].join(", ") || "none"})`);
  const duration = (value: string | number | undefined, inherited: number) => (value === undefined ? inherited : durationSchema.parse(value));
  const base = {
    receiver,
    groupBy: input.group_by ?? parent?.groupBy ?? ROUTE_DEFAULTS.groupBy,
    groupWaitMs: duration(input.group_wait, parent?.groupWaitMs ?? ROUTE_DEFAULTS.groupWaitMs),
    groupIntervalMs: duration(input.group_interval, parent?.groupIntervalMs ?? ROUTE_DEFAULTS.groupIntervalMs),
    repeatIntervalMs: duration(input.repeat_interval, parent?.repeatIntervalMs ?? ROUTE_DEFAULTS.repeatIntervalMs),
  };
  return {
    id,
    ...base,
    matchers: (input.matchers ?? []).map(parseMatcher),
    continue: input.continue ?? false,
    routes: (input.routes ?? []).map((child, i) => buildRoute(child, base, `${id}.${i}`, receivers)),
  };
}

/** SLO documents in a YAML file (several may be separated by ---). */
function readSloFile(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read SLO file ${path}: ${(error as Error).message}`);
  }
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new ConfigError(`SLO file ${path} is not valid YAML: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJSON();
    return Array.isArray(value) ? value : value === null ? [] : [value];
  });
}

/** Validates an alerting config object; `baseDir` resolves relative SLO file paths. */
export function parseAlertingConfig(raw: unknown, source: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): AlertingConfig {
  const result = alertingConfigSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(formatZodIssues(source, result.error));
  const c = result.data;
  /** `problem`: a caught error, or what is wrong in words. */
  const fail = (what: string, problem: unknown): never => {
    const text =
      problem instanceof z.ZodError
        ? problem.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")
        : problem instanceof Error
          ? problem.message
          : String(problem);
    throw new ConfigError(`${source} is invalid:\n  - ${what}: ${text}`);
  };
  const names = new Set<string>();
  const receivers = c.receivers.map((r) => {
    if (names.has(r.name)) fail(`receivers`, `two receivers are named "${r.name}"`);
    names.add(r.name);
    const secret = r.webhook.secret ?? (r.webhook.secret_env ? env[r.webhook.secret_env] : undefined) ?? "";
    if (r.webhook.secret_env && !secret) fail(`receivers.${r.name}.webhook.secret_env`, `environment variable ${r.webhook.secret_env} is not set`);
    return {
      name: r.name,
      url: r.webhook.url,
      secret,
      timeoutMs: r.webhook.timeout,
      giveUpAfterMs: r.webhook.give_up_after,
      maxBackoffMs: r.webhook.max_backoff,
      sendResolved: r.webhook.send_resolved,
      maxAlerts: r.webhook.max_alerts,
    };
  });
  let route: Route;
  try {
    route = buildRoute(c.route ?? { receiver: receivers[0]?.name }, undefined, "0", names);
  } catch (error) {
    if (receivers.length === 0 && c.route === undefined) route = { id: "0", receiver: "", matchers: [], continue: false, routes: [], ...ROUTE_DEFAULTS };
    else fail("route", error);
  }
  const slos: Slo[] = [];
  for (const [i, entry] of [...c.slos, ...c.slo_files.flatMap((f) => readSloFile(resolve(baseDir, f)))].entries()) {
    try {
      slos.push(parseSlo(entry));
    } catch (error) {
      fail(`slos[${i}]`, error);
    }
  }
  const inhibitRules: InhibitRule[] = [];
  c.inhibit_rules.forEach((r, i) => {
    try {
      inhibitRules.push({ source: r.source_matchers.map(parseMatcher), target: r.target_matchers.map(parseMatcher), equal: r.equal });
    } catch (error) {
      fail(`inhibit_rules[${i}]`, error);
    }
  });
  return {
    evaluationIntervalMs: c.evaluation_interval,
    externalUrl: c.external_url.replace(/\/$/, ""),
    outboxDir: c.outbox_dir,
    rules: c.rules,
    slos,
    receivers,
    route: route!,
    inhibitRules,
    alertmanager: c.alertmanager && { url: c.alertmanager.url, timeoutMs: c.alertmanager.timeout },
  };
}

/** Reads an alerting config file (YAML, or JSON which is YAML too). */
export function loadAlertingConfig(path: string, env: NodeJS.ProcessEnv = process.env): AlertingConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read alerting config ${path}: ${(error as Error).message}`);
  }
  const docs = parseAllDocuments(text);
  const first = Array.isArray(docs) ? docs[0] : docs;
  if (first && first.errors.length > 0) throw new ConfigError(`alerting config ${path} is not valid YAML: ${first.errors[0]!.message}`);
  return parseAlertingConfig(first?.toJSON() ?? {}, `alerting config ${path}`, dirname(resolve(path)), env);
}

import { availableParallelism } from "node:os";
import { z } from "zod";
import { type EnvRenames, formatZodIssues, parseTokenList, readJsonObject, renameEnv } from "@vigil/config";
import { MODEL_CONTROL_MODES } from "./repository.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const serverConfigSchema = z.strictObject({
  host: z.string().min(1).default("0.0.0.0"),
  /** 8001 is Triton's gRPC port, so clients' defaults work; 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(8001),
  model_repository: z.string().min(1).default(".vigil/models"),
  /** Who decides which models are loaded (repository.ts): explicit requests, nobody after start-up, or the repository's contents. */
  model_control_mode: z.enum(MODEL_CONTROL_MODES).default("explicit"),
  /** In poll mode: seconds between rescans of the repository (Triton's --repository-poll-secs). */
  repository_poll_secs: z.number().positive().max(86_400).default(15),
  /** Seconds between reads of the rollout events, by the process that owns the store: how soon a rollback takes the candidate out of traffic. */
  rollout_poll_secs: z.number().positive().max(3600).default(5),
  /** When non-empty, every RPC but health needs `authorization: Bearer <one of these>`. */
  auth_tokens: z.array(z.string().min(1)).default([]),
  tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
  /** Largest request or response message; larger ones are refused with RESOURCE_EXHAUSTED. */
  max_message_bytes: z
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  /**
   * A connection that has not sent the HTTP/2 client preface this long after connecting is closed
   * (with TLS: its first bytes; Node bounds the TLS handshake itself, and the idle limit the rest).
   */
  handshake_timeout_ms: z.number().int().positive().default(10_000),
  /** A connection with no call in flight for this long is closed with GOAWAY; clients reconnect on their next call. */
  max_connection_idle_ms: z.number().int().positive().default(300_000),
  /** How often the server pings a client on a connection, to find peers that went away without closing it. */
  keepalive_time_ms: z.number().int().positive().default(120_000),
  /** How long the server waits for a ping's answer before closing the connection. */
  keepalive_timeout_ms: z.number().int().positive().default(20_000),
  /** Open connections beyond this are closed as soon as they are accepted. */
  max_connections: z.number().int().positive().default(4096),
  /** How long a graceful shutdown waits for in-flight work before cutting connections. */
  shutdown_grace_ms: z.number().int().min(0).default(15_000),
  log_level: z.enum(LOG_LEVELS).default("info"),
  /** Serving processes `vigil serve` runs on the one port (docs/serving.md#workers); 1 serves in the command's own process. */
  workers: z.number().int().min(1).max(1024).default(availableParallelism()),
  /** Write a predictions row for every request (the prediction log the monitor reads). */
  record_predictions: z.boolean().default(true),
  /** ClickHouse server URL; the embedded engine (data_dir) when absent. */
  clickhouse_url: z.string().url().optional(),
  /** With clickhouse_url: create the schema replicated and distributed on this cluster (ON CLUSTER); docs/deployment.md. */
  clickhouse_cluster: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, "must be a cluster name (letters, digits, _ . -)")
    .optional(),
  data_dir: z.string().min(1).default(".vigil/data"),
  /** Where batches the engine has not taken wait on disk. */
  spool_dir: z.string().min(1).default(".vigil/spool"),
  /** Disk the spool may use before new records wait (and, past record_wait_ms, requests fail). */
  spool_budget_bytes: z
    .number()
    .int()
    .positive()
    .default(1024 ** 3),
  /** How long a request may wait for room in a full prediction log before it fails with UNAVAILABLE. */
  record_wait_ms: z.number().int().min(0).default(5000),
  /** Prometheus /metrics port (8002 is Triton's); "off" (or null) turns the endpoint off, 0 picks a free port. */
  metrics_port: z
    .union([z.literal("off"), z.number().int().min(0).max(65535), z.null()])
    .transform((port) => (port === "off" ? null : port))
    .default(8002),
  tracing: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Share of traces kept when the caller sent no sampling decision; traces with an error are always kept. */
      sample_ratio: z.number().min(0).max(1).default(1),
    })
    .default({ enabled: true, sample_ratio: 1 }),
  retention_days: z
    .strictObject({ predictions: z.number().int().min(1).max(36_500), traces: z.number().int().min(1).max(36_500) })
    .default({ predictions: 30, traces: 7 }),
});

export type ServerConfig = z.infer<typeof serverConfigSchema>;
export type ServerConfigInput = z.input<typeof serverConfigSchema>;

const flag = (v: string): unknown => ({ true: true, "1": true, false: false, "0": false })[v] ?? v;
/** An unset or empty variable leaves its field to the file and defaults. */
const variable = <T>(parse: (v: string) => T) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === "" ? undefined : parse(v)));
const text = variable((v) => v);

/**
 * Every environment variable the inference server reads. Values are converted loosely here and
 * judged by serverConfigSchema, so a wrong value is reported under the config field it sets.
 *
 * Token variables follow one scheme across Vigil: VIGIL_<SURFACE>_TOKENS are the tokens a server
 * accepts (comma separated) and VIGIL_<SURFACE>_CLIENT_TOKEN the one a client sends, where the
 * surface is GRPC (inference) or API (the monitor HTTP API).
 */
export const serverEnvVariables = z.object({
  VIGIL_GRPC_HOST: text,
  VIGIL_GRPC_PORT: variable(Number),
  VIGIL_MODEL_REPOSITORY: text,
  VIGIL_MODEL_CONTROL_MODE: text,
  VIGIL_REPOSITORY_POLL_SECS: variable(Number),
  VIGIL_ROLLOUT_POLL_SECS: variable(Number),
  VIGIL_GRPC_TOKENS: variable(parseTokenList),
  VIGIL_TLS_CERT_FILE: text,
  VIGIL_TLS_KEY_FILE: text,
  VIGIL_MAX_MESSAGE_BYTES: variable(Number),
  VIGIL_SHUTDOWN_GRACE_MS: variable(Number),
  VIGIL_LOG_LEVEL: text,
  VIGIL_WORKERS: variable(Number),
  VIGIL_CLICKHOUSE_URL: text,
  VIGIL_CLICKHOUSE_CLUSTER: text,
  VIGIL_DATA_DIR: text,
  VIGIL_SPOOL_DIR: text,
  VIGIL_METRICS_PORT: variable((v) => (v === "off" ? null : Number(v))),
  VIGIL_RECORD_PREDICTIONS: variable(flag),
  VIGIL_TRACING: variable(flag),
  VIGIL_TRACE_SAMPLE_RATIO: variable(Number),
});
export type ServerEnv = z.output<typeof serverEnvVariables>;

/** Old names of the server's variables, still read with a deprecation warning. */
export const SERVER_ENV_RENAMES: EnvRenames = { VIGIL_AUTH_TOKENS: "VIGIL_GRPC_TOKENS" };

/** The config fields the environment sets; absent ones are left out so they do not hide the file's. */
function fieldsFromEnv(env: ServerEnv): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    host: env.VIGIL_GRPC_HOST,
    port: env.VIGIL_GRPC_PORT,
    model_repository: env.VIGIL_MODEL_REPOSITORY,
    model_control_mode: env.VIGIL_MODEL_CONTROL_MODE,
    repository_poll_secs: env.VIGIL_REPOSITORY_POLL_SECS,
    rollout_poll_secs: env.VIGIL_ROLLOUT_POLL_SECS,
    auth_tokens: env.VIGIL_GRPC_TOKENS,
    max_message_bytes: env.VIGIL_MAX_MESSAGE_BYTES,
    shutdown_grace_ms: env.VIGIL_SHUTDOWN_GRACE_MS,
    log_level: env.VIGIL_LOG_LEVEL,
    workers: env.VIGIL_WORKERS,
    clickhouse_url: env.VIGIL_CLICKHOUSE_URL,
    clickhouse_cluster: env.VIGIL_CLICKHOUSE_CLUSTER,
    data_dir: env.VIGIL_DATA_DIR,
    spool_dir: env.VIGIL_SPOOL_DIR,
    metrics_port: env.VIGIL_METRICS_PORT,
    record_predictions: env.VIGIL_RECORD_PREDICTIONS,
  };
  if (env.VIGIL_TLS_CERT_FILE !== undefined || env.VIGIL_TLS_KEY_FILE !== undefined)
    fields.tls = { cert_file: env.VIGIL_TLS_CERT_FILE, key_file: env.VIGIL_TLS_KEY_FILE };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

export interface ConfigSources {
  /** A JSON file with any of the fields; missing ones take defaults. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Highest precedence: command-line flags, test harnesses. */
  overrides?: ServerConfigInput;
  /** Told about deprecated variable names in use. */
  onWarning?: (message: string) => void;
}

const warnDeprecated = (message: string) => process.emitWarning(message, "DeprecationWarning");

/** Merges file < environment < overrides and validates the result, naming every wrong field. */
export function loadServerConfig({ file, env = process.env, overrides = {}, onWarning = warnDeprecated }: ConfigSources = {}): ServerConfig {
  const fromFile = file ? readJsonObject(file, "server config") : {};
  const variables = serverEnvVariables.parse(renameEnv(env, SERVER_ENV_RENAMES, onWarning));
  const fromEnv = fieldsFromEnv(variables);
  if (variables.VIGIL_TRACING !== undefined || variables.VIGIL_TRACE_SAMPLE_RATIO !== undefined) {
    const fileTracing = (fromFile.tracing ?? {}) as Record<string, unknown>;
    fromEnv.tracing = {
      ...fileTracing,
      ...(variables.VIGIL_TRACING !== undefined ? { enabled: variables.VIGIL_TRACING } : {}),
      ...(variables.VIGIL_TRACE_SAMPLE_RATIO !== undefined ? { sample_ratio: variables.VIGIL_TRACE_SAMPLE_RATIO } : {}),
    };
  }
  const merged = { ...fromFile, ...fromEnv, ...overrides };
  const result = serverConfigSchema.safeParse(merged);
  if (!result.success) {
    const sources = [file && `file ${file}`, Object.keys(fromEnv).length > 0 && "VIGIL_* environment", "flags"].filter(Boolean).join(" + ");
    throw new Error(formatZodIssues(`server config (${sources})`, result.error));
  }
  return result.data;
}

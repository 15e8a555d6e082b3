import { z } from "zod";
import { formatZodIssues, readJsonObject } from "@vigil/config";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const serverConfigSchema = z.strictObject({
  host: z.string().min(1).default("0.0.0.0"),
  /** 8001 is Triton's gRPC port, so clients' defaults work; 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(8001),
  model_repository: z.string().min(1).default(".vigil/models"),
  /** When non-empty, every RPC but health needs `authorization: Bearer <one of these>`. */
  auth_tokens: z.array(z.string().min(1)).default([]),
  tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
  /** Largest request or response message; larger ones are refused with RESOURCE_EXHAUSTED. */
  max_message_bytes: z.number().int().positive().default(64 * 1024 * 1024),
  /** How long a graceful shutdown waits for in-flight work before cutting connections. */
  shutdown_grace_ms: z.number().int().min(0).default(15_000),
  log_level: z.enum(LOG_LEVELS).default("info"),
  /** Write a predictions row for every request (the prediction log the monitor reads). */
  record_predictions: z.boolean().default(true),
  /** ClickHouse server URL; the embedded engine (data_dir) when absent. */
  clickhouse_url: z.string().url().optional(),
  data_dir: z.string().min(1).default(".vigil/data"),
  /** Where batches the engine has not taken wait on disk. */
  spool_dir: z.string().min(1).default(".vigil/spool"),
  /** Disk the spool may use before new records wait (and, past record_wait_ms, requests fail). */
  spool_budget_bytes: z.number().int().positive().default(1024 ** 3),
  /** How long a request may wait for room in a full prediction log before it fails with UNAVAILABLE. */
  record_wait_ms: z.number().int().min(0).default(5000),
  /** Prometheus /metrics port (8002 is Triton's); null turns the endpoint off, 0 picks a free port. */
  metrics_port: z.number().int().min(0).max(65535).nullable().default(8002),
  tracing: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Share of traces kept when the caller sent no sampling decision; traces with an error are always kept. */
      sample_ratio: z.number().min(0).max(1).default(1),
    })
    .default({ enabled: true, sample_ratio: 1 }),
  retention_days: z.strictObject({ predictions: z.number().int().min(1).max(36_500), traces: z.number().int().min(1).max(36_500) }).default({ predictions: 30, traces: 7 }),
});

export type ServerConfig = z.infer<typeof serverConfigSchema>;
export type ServerConfigInput = z.input<typeof serverConfigSchema>;

/** Environment variables and the config fields they set. */
export const SERVER_ENV: Record<string, { field: keyof ServerConfig; parse: (v: string) => unknown }> = {
  VIGIL_GRPC_HOST: { field: "host", parse: (v) => v },
  VIGIL_GRPC_PORT: { field: "port", parse: Number },
  VIGIL_MODEL_REPOSITORY: { field: "model_repository", parse: (v) => v },
  VIGIL_AUTH_TOKENS: { field: "auth_tokens", parse: (v) => v.split(",").map((t) => t.trim()).filter(Boolean) },
  VIGIL_MAX_MESSAGE_BYTES: { field: "max_message_bytes", parse: Number },
  VIGIL_SHUTDOWN_GRACE_MS: { field: "shutdown_grace_ms", parse: Number },
  VIGIL_LOG_LEVEL: { field: "log_level", parse: (v) => v },
  VIGIL_CLICKHOUSE_URL: { field: "clickhouse_url", parse: (v) => v },
  VIGIL_DATA_DIR: { field: "data_dir", parse: (v) => v },
  VIGIL_SPOOL_DIR: { field: "spool_dir", parse: (v) => v },
  VIGIL_METRICS_PORT: { field: "metrics_port", parse: (v) => (v === "off" ? null : Number(v)) },
  VIGIL_RECORD_PREDICTIONS: { field: "record_predictions", parse: (v) => ({ true: true, "1": true, false: false, "0": false })[v] ?? v },
};

export interface ConfigSources {
  /** A JSON file with any of the fields; missing ones take defaults. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Highest precedence: command-line flags, test harnesses. */
  overrides?: ServerConfigInput;
}

/** Merges file < environment < overrides and validates the result, naming every wrong field. */
export function loadServerConfig({ file, env = process.env, overrides = {} }: ConfigSources = {}): ServerConfig {
  const fromFile = file ? readJsonObject(file, "server config") : {};
  const fromEnv: Record<string, unknown> = {};
  for (const [name, { field, parse }] of Object.entries(SERVER_ENV)) {
    const value = env[name];
    if (value !== undefined && value !== "") fromEnv[field] = parse(value);
  }
  const tlsCert = env.VIGIL_TLS_CERT_FILE;
  const tlsKey = env.VIGIL_TLS_KEY_FILE;
  if (tlsCert || tlsKey) fromEnv.tls = { cert_file: tlsCert, key_file: tlsKey };
  if (env.VIGIL_TRACING !== undefined || env.VIGIL_TRACE_SAMPLE_RATIO !== undefined) {
    const fileTracing = (fromFile.tracing ?? {}) as Record<string, unknown>;
    fromEnv.tracing = {
      ...fileTracing,
      ...(env.VIGIL_TRACING !== undefined ? { enabled: ({ true: true, "1": true, false: false, "0": false } as Record<string, boolean>)[env.VIGIL_TRACING] ?? env.VIGIL_TRACING } : {}),
      ...(env.VIGIL_TRACE_SAMPLE_RATIO !== undefined ? { sample_ratio: Number(env.VIGIL_TRACE_SAMPLE_RATIO) } : {}),
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

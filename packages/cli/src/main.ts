import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import { SingleBar } from "cli-progress";
import { parseDuration, parseTime } from "@vigil/config";
import { DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME, buildDemoModel } from "@vigil/demo-model";
import { type InferenceServer, type Logger, type ServerConfig, type ServerConfigInput, createLogger, loadServerConfig, startInferenceServer } from "@vigil/inference";
import { type AlertingConfig, type MonitorConfig, type MonitorConfigInput, type MonitoredModel, OPENAPI_PATH, createSilence, expireSilence, listSilences, loadAlertingConfig, sloReport, sloReportCsv, sloReportMarkdown, startMonitorApi, REFERENCE_FILE, driftOptionsFor, ensureProfiles, loadMonitorConfig, profilesFromFile, profilesFromWindow, saveProfiles, servedVersions } from "@vigil/monitor";
import { type StoreEngine, migrate, openEngine } from "@vigil/store";
import { type FeatureShift, parseShift } from "./drift-plan.js";
import { type LoadgenOptions, formatSummary, runLoadgen } from "./loadgen.js";
import { type CatalogModel, catalogLookup, catalogSource, describeResults, monitoredInputs, readCatalog, startMonitor } from "./monitoring.js";
import { type ReportKind, buildReport, formatReport } from "./report.js";
import { formatSilences, startAlerting } from "./alerting.js";
import { startDashboard } from "./dashboard.js";

const integer = (name: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${value}"`);
  return n;
};
const number = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, got "${value}"`);
  return n;
};

/** Stops the server on the first SIGINT/SIGTERM; a second one exits at once. */
function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`\n${signal}: shutting down gracefully (again to force)\n`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

async function serve(overrides: ServerConfigInput, configFile?: string): Promise<{ server: InferenceServer; log: Logger; config: ServerConfig }> {
  const config = loadServerConfig({ file: configFile, overrides });
  const log = createLogger(config.log_level);
  return { server: await startInferenceServer(config, { log }), log, config };
}

/** The models a running server has loaded, as the monitor's catalog. */
const servedCatalog = (server: InferenceServer) => (): CatalogModel[] =>
  server.repository.modelNames().flatMap((name) => {
    const loaded = server.repository.versions(name)[0];
    return loaded ? [{ name, config: loaded.config, dir: join(server.repository.root, name) }] : [];
  });

/** Runs the monitor inside a server's process, on its store (the embedded engine allows no other process). */
function monitorServer(server: InferenceServer, config: MonitorConfig, log: Logger, onLines?: (lines: string[]) => void) {
  if (!server.store || !config.enabled) return undefined;
  const engine = server.store.engine;
  return startMonitor(engine, catalogSource(engine, servedCatalog(server), config, (note) => log.warn(note)), config, {
    registry: server.metricsRegistry,
    onError: (error) => log.error({ err: error }, `monitor run failed: ${error.message}`),
    onResults: (window, results) => {
      log.info({ window, results: results.length }, "monitor window evaluated");
      onLines?.(describeResults(window, results));
    },
  });
}

/**
 * Alerting inside a server's process, started once the store's tables exist (the server
 * itself does not wait for that). Resolves to undefined when there is no prediction log.
 */
async function alertServer(server: InferenceServer, config: AlertingConfig, log: Logger, onLines?: (lines: string[]) => void) {
  if (!server.store) {
    log.warn("alerting is off: it reads the prediction log, and record_predictions is false");
    return undefined;
  }
  try {
    await server.store.ready();
    return await startAlerting(server.store.engine, config, log, { registry: server.metricsRegistry, onLines });
  } catch (error) {
    log.error({ err: error }, `alerting could not start: ${(error as Error).message}`);
    return undefined;
  }
}

/** Port of the monitor HTTP API; Triton uses 8000-8002, so the next one. */
const DEFAULT_API_PORT = 8003;

/** A port, or "off". (Commander turns a parser's null into "", so "off" stays a string.) */
const portOrOff = (name: string, min: number) => (value: string) => (value === "off" ? ("off" as const) : integer(name, min)(value));
const apiPort = portOrOff("api-port", 0);

/**
 * Starts the monitor HTTP API for a store. Tokens come from VIGIL_API_TOKENS (comma separated);
 * with none configured a random one is made and printed, so the API is never open by accident.
 */
async function startApi(engine: StoreEngine, catalog: () => CatalogModel[], slos: AlertingConfig["slos"], host: string, port: number, log: Logger) {
  const configured = (process.env.VIGIL_API_TOKENS ?? "").split(",").map((t) => t.trim()).filter(Boolean);
  const tokens = configured.length > 0 ? configured : [randomBytes(18).toString("base64url")];
  const api = await startMonitorApi({ engine, host, port, tokens, models: catalogLookup(engine, catalog), slos });
  log.info({ url: api.url, openapi: `${api.url}${OPENAPI_PATH}` }, "monitor API listening");
  return { ...api, token: tokens[0]!, generated: configured.length === 0 };
}

/** The monitor API of a server's process, started once the store's tables exist; undefined when it cannot start (logged). */
async function apiServer(server: InferenceServer, slos: AlertingConfig["slos"], host: string, port: number, log: Logger) {
  if (!server.store) return undefined;
  try {
    await server.store.ready();
    return await startApi(server.store.engine, servedCatalog(server), slos, host, port, log);
  } catch (error) {
    log.error({ err: error }, `monitor API could not start: ${(error as Error).message}`);
    return undefined;
  }
}

/** The store a command-line tool reads: the same clickhouse_url / data_dir the server config names. */
async function openToolStore(config: ServerConfig): Promise<StoreEngine> {
  const engine = openEngine({ clickhouseUrl: config.clickhouse_url, dataDir: config.data_dir });
  await migrate(engine);
  return engine;
}

/** One model of the repository the server config names, as the monitor sees it. */
function catalogModel(config: ServerConfig, name: string): CatalogModel {
  const catalog = readCatalog(config.model_repository, (error) => console.error(`vigil: ${error.message}`));
  const found = catalog.find((m) => m.name === name);
  if (!found) throw new Error(`model "${name}" is not in the repository ${config.model_repository} (models: ${catalog.map((m) => m.name).join(", ") || "none"})`);
  return found;
}

const program = new Command()
  .name("vigil")
  .description("Vigil: serve ML models over the Open Inference Protocol and prove the service is good")
  .showHelpAfterError();

program
  .command("serve")
  .description("run the gRPC inference server over a model repository")
  .option("-c, --config <file>", "server config JSON (fields as in the README); VIGIL_* variables override it")
  .option("--host <host>", "address to listen on")
  .option("-p, --port <port>", "gRPC port (0 picks a free one)", integer("port", 0))
  .option("-m, --models <dir>", "model repository directory")
  .option("--monitor-config <file>", "monitor settings JSON: windows, lag, drift thresholds per model and feature (see README)")
  .option("--no-monitor", "do not run the quality and drift monitor in this process")
  .option("--alerting-config <file>", "alert rules, SLOs, receivers and routes (YAML, see README); alerting runs in this process")
  .option("--api-port <port>", `monitor HTTP API port, "off" for none (tokens: VIGIL_API_TOKENS)`, apiPort, DEFAULT_API_PORT)
  .addOption(new Option("--log-level <level>").choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"]))
  .action(async (opts: { config?: string; host?: string; port?: number; models?: string; logLevel?: ServerConfigInput["log_level"]; monitorConfig?: string; monitor: boolean; alertingConfig?: string; apiPort: number | "off" }) => {
    const overrides: ServerConfigInput = {};
    if (opts.host !== undefined) overrides.host = opts.host;
    if (opts.port !== undefined) overrides.port = opts.port;
    if (opts.models !== undefined) overrides.model_repository = opts.models;
    if (opts.logLevel !== undefined) overrides.log_level = opts.logLevel;
    const monitorConfig = loadMonitorConfig({ file: opts.monitorConfig, overrides: { enabled: opts.monitor } });
    const alertingConfig = opts.alertingConfig ? loadAlertingConfig(opts.alertingConfig) : undefined;
    const { server, log, config } = await serve(overrides, opts.config);
    const monitor = monitorServer(server, monitorConfig, log);
    const alerting = alertingConfig ? alertServer(server, alertingConfig, log) : undefined;
    const api = opts.apiPort === "off" ? undefined : apiServer(server, alertingConfig?.slos ?? [], config.host, opts.apiPort, log);
    void api?.then((started) => {
      if (started?.generated) log.warn({ token: started.token }, "VIGIL_API_TOKENS is not set: the monitor API accepts this generated token");
    });
    stopOnSignals(async () => {
      await (await api)?.close();
      await (await alerting)?.stop();
      await monitor?.stop();
      await server.shutdown();
    });
  });

program
  .command("monitor")
  .description("run the quality and drift monitor on its own, against a ClickHouse server (VIGIL_CLICKHOUSE_URL) the inference servers write to")
  .option("-c, --config <file>", "server config JSON: clickhouse_url, data_dir, model_repository are read from it (VIGIL_* override)")
  .option("-m, --models <dir>", "model repository directory (the models' config.json and reference.jsonl)")
  .option("--monitor-config <file>", "monitor settings JSON (see README)")
  .option("--alerting-config <file>", "alert rules, SLOs, receivers and routes (YAML, see README)")
  .option("--host <host>", "address the monitor API listens on", "127.0.0.1")
  .option("--api-port <port>", `monitor HTTP API port, "off" for none (tokens: VIGIL_API_TOKENS)`, apiPort, DEFAULT_API_PORT)
  .action(async (opts: { config?: string; models?: string; monitorConfig?: string; alertingConfig?: string; host: string; apiPort: number | "off" }) => {
    const config = loadServerConfig({ file: opts.config, overrides: opts.models ? { model_repository: opts.models } : {} });
    const monitorConfig = loadMonitorConfig({ file: opts.monitorConfig });
    const alertingConfig = opts.alertingConfig ? loadAlertingConfig(opts.alertingConfig) : undefined;
    const log = createLogger(config.log_level);
    const engine = await openToolStore(config);
    const catalog = () => readCatalog(config.model_repository, (error) => log.error({ err: error }, error.message));
    const job = startMonitor(engine, catalogSource(engine, catalog, monitorConfig, (note) => log.warn(note)), monitorConfig, {
      onError: (error) => log.error({ err: error }, `monitor run failed: ${error.message}`),
      onResults: (window, results) => {
        for (const line of describeResults(window, results)) log.info({ window, results: results.length }, line);
      },
    });
    log.info({ store: engine.location, window: monitorConfig.window, step: monitorConfig.step, lag: monitorConfig.lag }, "monitor running");
    const alerting = alertingConfig ? await startAlerting(engine, alertingConfig, log) : undefined;
    const api = opts.apiPort === "off" ? undefined : await startApi(engine, catalog, alertingConfig?.slos ?? [], opts.host, opts.apiPort, log);
    if (api?.generated) log.warn({ token: api.token }, "VIGIL_API_TOKENS is not set: the monitor API accepts this generated token");
    stopOnSignals(async () => {
      await api?.close();
      await alerting?.stop();
      await job.stop();
      await engine.close();
    });
  });

program
  .command("profile")
  .description("build and store a model version's reference profiles, from a reference file or a window of served traffic")
  .requiredOption("--model <name>", "model name")
  .requiredOption("--version <version>", "model version the profiles belong to")
  .option("--file <reference.jsonl>", "reference rows: {\"features\": [...], \"prediction\": ..., \"confidence\": ...} per line")
  .option("--from <time>", "start of a traffic window to use as the reference (ISO 8601, or -1h)")
  .option("--to <time>", "end of that window", "now")
  .option("-c, --config <file>", "server config JSON (store and model repository)")
  .action(async (opts: { model: string; version: string; file?: string; from?: string; to: string; config?: string }) => {
    if ((opts.file === undefined) === (opts.from === undefined)) throw new Error("give either --file or --from (and optionally --to)");
    const config = loadServerConfig({ file: opts.config });
    const model = catalogModel(config, opts.model);
    const features = monitoredInputs(model.config);
    if (features.length === 0) throw new Error(`model ${opts.model} names no monitored_features and no labels in its config.json: nothing to profile`);
    const engine = await openToolStore(config);
    try {
      const profiles = opts.file
        ? await profilesFromFile(opts.file, features)
        : await profilesFromWindow(engine, { model: opts.model, version: opts.version, features, window: { fromUs: parseTime(opts.from!) * 1000, toUs: parseTime(opts.to) * 1000 } });
      await saveProfiles(engine, opts.model, opts.version, profiles);
      console.log(`stored reference profiles of ${profiles.length} inputs for ${opts.model} version ${opts.version}: ${profiles.map((p) => `${p.feature} (${p.sampleSize} rows)`).join(", ")}`);
    } finally {
      await engine.close();
    }
  });

program
  .command("report")
  .description("quality or drift of a model over a time range (tables or JSON), or SLO attainment and error budget (Markdown, JSON or CSV)")
  .argument("<kind>", "quality, drift or slo", (v: string) => {
    if (v !== "quality" && v !== "drift" && v !== "slo") throw new InvalidArgumentError(`report kind must be "quality", "drift" or "slo", got "${v}"`);
    return v as ReportKind | "slo";
  })
  .option("--model <name>", "model name (quality and drift)")
  .option("--version <version>", "model version (default: all versions for quality, the newest served in the range for drift)")
  .option("--from <time>", "start: ISO 8601, or a duration before now such as -24h", "-1h")
  .option("--to <time>", "end: ISO 8601, now, or -10m", "now")
  .option("--window <duration>", "split the range into windows of this length (e.g. 1h); one window when absent")
  .option("--json", "print JSON instead of tables")
  .option("-c, --config <file>", "server config JSON (store and model repository)")
  .option("--monitor-config <file>", "monitor settings JSON (drift thresholds)")
  .option("--alerting-config <file>", "slo: the file naming the SLOs (alerting config)")
  .option("--slo <name>", "slo: one SLO (default: all)")
  .option("--step <duration>", "slo: length of the stretches ranked as worst", "1h")
  .addOption(new Option("--format <format>", "slo: output format").choices(["md", "json", "csv"]).default("md"))
  .action(async (kind: ReportKind | "slo", opts: { model?: string; version?: string; from: string; to: string; window?: string; json?: boolean; config?: string; monitorConfig?: string; alertingConfig?: string; slo?: string; step: string; format: "md" | "json" | "csv" }) => {
    const config = loadServerConfig({ file: opts.config });
    if (kind === "slo") {
      if (!opts.alertingConfig) throw new Error("report slo needs --alerting-config, the file that names the SLOs");
      await reportSlos(config, loadAlertingConfig(opts.alertingConfig), { ...opts, fromMs: parseTime(opts.from), toMs: parseTime(opts.to), stepMs: parseDuration(opts.step) });
      return;
    }
    if (!opts.model) throw new Error(`report ${kind} needs --model`);
    const monitorConfig = loadMonitorConfig({ file: opts.monitorConfig });
    const range = { fromMs: parseTime(opts.from), toMs: parseTime(opts.to), windowMs: opts.window ? parseDuration(opts.window) : undefined };
    const model = opts.model;
    const catalogued = catalogModel(config, model);
    const engine = await openToolStore(config);
    try {
      let version = opts.version ?? "";
      if (kind === "drift" && version === "") {
        const served = (await servedVersions(engine, { fromUs: range.fromMs * 1000, toUs: range.toMs * 1000 })).filter((s) => s.model === model);
        if (served.length === 0) throw new Error(`model ${model} served no OK predictions between ${new Date(range.fromMs).toISOString()} and ${new Date(range.toMs).toISOString()}`);
        version = served.map((s) => s.version).sort((a, b) => Number(b) - Number(a))[0]!;
      }
      const inputs = monitoredInputs(catalogued.config);
      const profiles = kind === "drift" ? await ensureProfiles(engine, { name: model, version, features: inputs, referenceFile: join(catalogued.dir, version, REFERENCE_FILE) }) : [];
      if (!profiles) throw new Error(`model ${model} version ${version} has no reference profile; build one with "vigil profile --model ${model} --version ${version} --file ..." or "--from ..."`);
      const { datasetDriftShare, ...decisions } = driftOptionsFor(monitorConfig, model);
      const monitored: MonitoredModel = { name: model, version, classes: catalogued.config.labels, features: kind === "drift" ? inputs : [], profiles, decisions, datasetDriftShare };
      const bar = process.stderr.isTTY ? new SingleBar({ format: "report [{bar}] {value}/{total} windows", hideCursor: true, stream: process.stderr }) : undefined;
      const report = await buildReport(engine, monitored, kind, range, (done, total) => {
        if (done === 1) bar?.start(total, 0);
        bar?.update(done);
      });
      bar?.stop();
      console.log(opts.json ? JSON.stringify({ kind, model, version, windows: report }, null, 2) : formatReport(kind, monitored, report));
    } finally {
      await engine.close();
    }
  });

/** SLO reports for a period, in the chosen format, on stdout. */
async function reportSlos(config: ServerConfig, alerting: AlertingConfig, opts: { slo?: string; fromMs: number; toMs: number; stepMs: number; format: "md" | "json" | "csv" }): Promise<void> {
  const slos = opts.slo ? alerting.slos.filter((s) => s.name === opts.slo) : alerting.slos;
  if (slos.length === 0) throw new Error(opts.slo ? `no SLO named "${opts.slo}" (SLOs: ${alerting.slos.map((s) => s.name).join(", ") || "none"})` : "the alerting config names no SLOs");
  if (!(opts.toMs > opts.fromMs)) throw new Error("the report's end must come after its start");
  const engine = await openToolStore(config);
  try {
    const reports = [];
    for (const slo of slos) reports.push(await sloReport(engine, slo, opts.fromMs, opts.toMs, opts.stepMs));
    console.log(opts.format === "json" ? JSON.stringify(reports, null, 2) : opts.format === "csv" ? sloReportCsv(reports) : sloReportMarkdown(reports));
  } finally {
    await engine.close();
  }
}

const silence = program.command("silence").description("mute alerts that match label matchers for a while (they are still recorded)");
silence
  .command("add")
  .description("create a silence")
  .requiredOption("-m, --matcher <matcher>", 'label matcher, repeatable: name="value", name!="value", name=~"regex", name!~"regex"', (v: string, all: string[]) => [...all, v], [] as string[])
  .option("-d, --duration <duration>", "how long it lasts", "2h")
  .option("--comment <text>", "why", "")
  .option("--author <name>", "who", process.env.USER ?? "")
  .option("-c, --config <file>", "server config JSON (the store)")
  .action(async (opts: { matcher: string[]; duration: string; comment: string; author: string; config?: string }) => {
    const engine = await openToolStore(loadServerConfig({ file: opts.config }));
    try {
      const created = await createSilence(engine, { matchers: opts.matcher, endsAt: Date.now() + parseDuration(opts.duration), createdBy: opts.author, comment: opts.comment });
      console.log(created.id);
    } finally {
      await engine.close();
    }
  });
silence
  .command("list")
  .description("list silences (active, pending and expired)")
  .option("--json", "print JSON")
  .option("-c, --config <file>", "server config JSON (the store)")
  .action(async (opts: { json?: boolean; config?: string }) => {
    const engine = await openToolStore(loadServerConfig({ file: opts.config }));
    try {
      const silences = await listSilences(engine);
      console.log(opts.json ? JSON.stringify(silences, null, 2) : formatSilences(silences));
    } finally {
      await engine.close();
    }
  });
silence
  .command("expire")
  .description("end a silence now")
  .argument("<id>", "silence id")
  .option("-c, --config <file>", "server config JSON (the store)")
  .action(async (id: string, opts: { config?: string }) => {
    const engine = await openToolStore(loadServerConfig({ file: opts.config }));
    try {
      const expired = await expireSilence(engine, id);
      console.log(`silence ${expired.id} ended at ${new Date(expired.endsAt).toISOString()}`);
    } finally {
      await engine.close();
    }
  });

program
  .command("loadgen")
  .description("replay held-out flights against a server and report QPS and latency percentiles")
  .option("-t, --target <host:port>", "inference server", "127.0.0.1:8001")
  .option("--model <name>", "model to call", DEMO_MODEL_NAME)
  .option("-r, --rate <qps>", "requests per second, 0 for as fast as possible", number("rate"), 100)
  .option("--concurrency <n>", "requests in flight at once", integer("concurrency", 1), 8)
  .option("-n, --requests <n>", "stop after this many requests (0: until --duration or Ctrl-C)", integer("requests", 0), 1000)
  .option("-d, --duration <seconds>", "stop after this long (0: no limit)", number("duration"), 0)
  .option("--batch <rows>", "rows per request", integer("batch", 1), 1)
  .option("--token <token>", "bearer token, when the server requires one (or VIGIL_TOKEN)")
  .option("--tls-ca <file>", "PEM certificate to trust, for a TLS server")
  .option("--label-fraction <share>", "share of answered requests whose true outcome is sent back as a label (0-1)", number("label-fraction"), 0)
  .option("--label-delay <seconds>", "how long after the answer a label is sent", number("label-delay"), 2)
  .option("--drift <shift>", "plant drift: FEATURE*FACTOR or FEATURE+OFFSET (repeatable), e.g. distance*1.5 hour+3", (v: string, all: FeatureShift[]) => {
    try {
      return [...all, parseShift(v)];
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  }, [] as FeatureShift[])
  .option("--drift-after <requests>", "requests sent unchanged before the drift starts", integer("drift-after", 0), 0)
  .option("--shuffle", "replay the flights in a seeded random order rather than by date")
  .action(async (opts: { target: string; model: string; rate: number; concurrency: number; requests: number; duration: number; batch: number; token?: string; tlsCa?: string; labelFraction: number; labelDelay: number; drift: FeatureShift[]; driftAfter: number; shuffle?: boolean }) => {
    const abort = new AbortController();
    process.once("SIGINT", () => abort.abort());
    const interactive = process.stdout.isTTY && opts.requests > 0;
    const bar = interactive ? new SingleBar({ format: "loadgen [{bar}] {value}/{total} requests | {qps} qps | p99 {p99} ms", hideCursor: true }) : undefined;
    bar?.start(opts.requests, 0, { qps: "-", p99: "-" });
    const options: LoadgenOptions = {
      target: opts.target,
      model: opts.model,
      rate: opts.rate,
      concurrency: opts.concurrency,
      requests: opts.requests,
      durationMs: opts.duration * 1000,
      batch: opts.batch,
      token: opts.token ?? process.env.VIGIL_TOKEN,
      tlsCa: opts.tlsCa ? readFileSync(opts.tlsCa) : undefined,
      signal: abort.signal,
      labelFraction: Math.min(1, opts.labelFraction),
      labelDelayMs: opts.labelDelay * 1000,
      drift: opts.drift,
      driftAfter: opts.driftAfter,
      shuffle: opts.shuffle ?? false,
      progressEveryMs: interactive ? 250 : 2000,
      onProgress: (p) => {
        const qps = ((p.ok + p.failed) / p.elapsedMs) * 1000;
        if (bar) bar.update(p.ok + p.failed, { qps: qps.toFixed(0), p99: p.window.p99Ms.toFixed(2) });
        else console.log(`loadgen: ${p.ok + p.failed} done (${p.failed} failed), ${qps.toFixed(1)} qps, p99 ${p.window.p99Ms.toFixed(2)} ms`);
      },
    };
    const summary = await runLoadgen(options);
    bar?.update(summary.sent);
    bar?.stop();
    console.log(formatSummary(summary));
    process.exitCode = summary.failed > 0 ? 1 : 0;
  });

/** The alert rules and SLOs `vigil up` runs for the demo model. */
const DEMO_ALERTING = fileURLToPath(new URL("../demo/alerting.yaml", import.meta.url));

/** The drift `vigil up` plants: longer flights and later departures than the training months. */
const DEMO_DRIFT = ["distance*1.5", "hour+6"];

program
  .command("up")
  .description("the whole stack on the embedded store: the demo model served, the monitor, alerting, the monitor API, the dashboard, and demo traffic with labels and planted drift, until Ctrl-C")
  .option("-p, --port <port>", "gRPC port", integer("port", 0), 8001)
  .option("-r, --rate <qps>", "demo traffic rate", number("rate"), 50)
  .option("--window <duration>", "monitor window (tumbling)", "1m")
  .option("--drift-after <duration>", `plant drift (${DEMO_DRIFT.join(", ")}) after this long; "off" for none`, "3m")
  .option("--api-port <port>", "monitor HTTP API port (0 picks a free one)", integer("api-port", 0), DEFAULT_API_PORT)
  .option("--dashboard-port <port>", 'dashboard port, "off" for none', portOrOff("dashboard-port", 1), 3000)
  .action(async (opts: { port: number; rate: number; window: string; driftAfter: string; apiPort: number; dashboardPort: number | "off" }) => {
    const windowMs = parseDuration(opts.window);
    const driftAfterMs = opts.driftAfter === "off" ? undefined : parseDuration(opts.driftAfter);
    const monitorConfig = loadMonitorConfig({ overrides: { window: windowMs, lag: Math.min(10_000, windowMs / 2) } });
    if (!existsSync(join(DEFAULT_MODEL_REPOSITORY, DEMO_MODEL_NAME, "1", REFERENCE_FILE))) {
      console.log("building the demo model ...");
      await buildDemoModel();
    }
    // Quiet by default so the traffic lines stay readable; VIGIL_LOG_LEVEL (read by the config loader) raises it.
    const { server, log } = await serve({ host: "127.0.0.1", port: opts.port, model_repository: DEFAULT_MODEL_REPOSITORY, ...(process.env.VIGIL_LOG_LEVEL ? {} : { log_level: "warn" }) });
    const printLines = (lines: string[]) => console.log(lines.join("\n"));
    const monitor = monitorServer(server, monitorConfig, log, printLines);
    const demoAlerting = loadAlertingConfig(DEMO_ALERTING);
    const alerting = alertServer(server, demoAlerting, log, printLines);
    const api = await apiServer(server, demoAlerting.slos, "127.0.0.1", opts.apiPort, log);
    const dashboard =
      api && opts.dashboardPort !== "off" ? await startDashboard({ apiUrl: api.url, apiToken: api.token, port: opts.dashboardPort, host: "127.0.0.1", onLine: (line) => console.log(line) }) : undefined;
    console.log(
      `Vigil is up.\n  gRPC (Open Inference Protocol v2): ${server.address}\n  model repository: ${DEFAULT_MODEL_REPOSITORY}\n` +
        `  prediction log: ${server.store?.engine.location ?? "off"}\n` +
        `  Prometheus metrics: ${server.metricsPort === undefined ? "off" : `http://127.0.0.1:${server.metricsPort}/metrics`}\n` +
        `  monitor: quality and drift every ${opts.window} against the training months' reference profile\n` +
        `  alerting: rules and SLOs of ${DEMO_ALERTING}, evaluated every 15 s\n` +
        `${api ? `  monitor API: ${api.url}/api/v1 (OpenAPI at ${api.url}${OPENAPI_PATH}), token ${api.generated ? api.token : "from VIGIL_API_TOKENS"}\n` : ""}` +
        `${dashboard ? `  dashboard: ${dashboard.url} (password ${process.env.VIGIL_DASHBOARD_PASSWORD ? "from VIGIL_DASHBOARD_PASSWORD" : dashboard.password})\n` : ""}` +
        `  demo traffic: held-out March 2001 flights at ${opts.rate} requests/s, true outcomes for half of them 3 s later` +
        `${driftAfterMs === undefined ? "" : `; drift (${DEMO_DRIFT.join(", ")}) planted after ${opts.driftAfter}`}\nPress Ctrl-C to stop.`,
    );
    const abort = new AbortController();
    const traffic = runLoadgen({
      target: `127.0.0.1:${server.port}`,
      model: DEMO_MODEL_NAME,
      rate: opts.rate,
      concurrency: 16,
      requests: 0,
      durationMs: 0,
      batch: 1,
      signal: abort.signal,
      labelFraction: 0.5,
      labelDelayMs: 3000,
      shuffle: true,
      drift: driftAfterMs === undefined ? [] : DEMO_DRIFT.map(parseShift),
      driftAfter: driftAfterMs === undefined ? 0 : Math.round((driftAfterMs / 1000) * opts.rate),
      progressEveryMs: 5000,
      onProgress: (p) =>
        console.log(
          `traffic: ${p.ok} ok, ${p.failed} failed, last 5 s p50 ${p.window.p50Ms.toFixed(2)} ms p99 ${p.window.p99Ms.toFixed(2)} ms`,
        ),
    });
    stopOnSignals(async () => {
      abort.abort();
      console.log(formatSummary(await traffic));
      await dashboard?.stop();
      await api?.close();
      await (await alerting)?.stop();
      await monitor?.stop();
      await server.shutdown();
    });
    await traffic;
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`vigil: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { InferenceServer, Logger } from "@vigil/inference";
import {
  type AlertingConfig,
  type CatalogModel,
  LeaderLease,
  type MonitorConfig,
  OPENAPI_PATH,
  catalogLookup,
  catalogRepository,
  catalogRollouts,
  catalogSource,
  describeResults,
  readCatalog,
  rolloutJudge,
  startMonitor,
  startMonitorApi,
} from "@vigil/monitor";
import type { Store, StoreEngine } from "@vigil/store";
import type { Registry } from "prom-client";
import { startAlerting } from "./alerting.js";

/** What the monitoring side of a process runs. */
export interface MonitoringConfig {
  monitor: MonitorConfig;
  /** Alert rules, SLOs and receivers; no alerting when absent. */
  alerting?: AlertingConfig;
  /** Where the monitor HTTP API listens and the tokens it accepts (none: one is generated); no API when absent. */
  api?: { host: string; port: number; tokens: string[] };
  /** Evaluate only while holding the monitor lease (several `vigil monitor` processes on one ClickHouse); always when absent. */
  lease?: { holder: string; ttlMs: number; settleMs: number };
}

export interface MonitoringHooks {
  log: Logger;
  /** Where the monitor job and alerting export their health (the server's /metrics). */
  registry?: Registry;
  /** Readable lines about evaluated windows and alert changes, for a console. */
  onLines?: (lines: string[]) => void;
  /** Resolves once the store's tables exist; alerting and the API start after it. */
  storeReady?: () => Promise<void>;
  /**
   * A process that exists for alerting and the API fails when one cannot start; one that serves
   * models logs it and goes on serving.
   */
  required?: boolean;
}

export interface StartedApi {
  url: string;
  /** A token the API accepts (the generated one when none was configured). */
  token: string;
  generated: boolean;
  close(): Promise<void>;
}

export interface Monitoring {
  /** The monitor API once it listens; undefined when there is none or it could not start. */
  api: Promise<StartedApi | undefined>;
  /** Settles once alerting and the API have started; rejects only when `required` and one could not. */
  started: Promise<void>;
  /** Stops the API, then alerting, then the monitor job. */
  stop(): Promise<void>;
}

async function startApi(
  engine: StoreEngine,
  catalog: () => CatalogModel[],
  slos: AlertingConfig["slos"],
  options: NonNullable<MonitoringConfig["api"]>,
  monitorStepMs: number,
  log: Logger,
): Promise<StartedApi> {
  const tokens = options.tokens.length > 0 ? options.tokens : [randomBytes(18).toString("base64url")];
  const api = await startMonitorApi({
    engine,
    host: options.host,
    port: options.port,
    tokens,
    models: catalogLookup(engine, catalog),
    repository: catalogRepository(catalog),
    rollouts: catalogRollouts(catalog),
    monitorStepMs,
    slos,
  });
  log.info({ url: api.url, openapi: `${api.url}${OPENAPI_PATH}` }, "monitor API listening");
  return { url: api.url, close: () => api.close(), token: tokens[0]!, generated: options.tokens.length === 0 };
}

/**
 * The monitoring side of a process over one store: the scheduled monitor job, alerting and the
 * monitor HTTP API, each as its config asks. Failures of a running part are logged, never fatal.
 * With `lease`, the monitor job and alerting run only while this process holds the monitor lease
 * in ClickHouse, so of several monitors exactly one evaluates; the API serves from every one.
 */
export function startMonitoring(engine: StoreEngine, catalog: () => CatalogModel[], config: MonitoringConfig, hooks: MonitoringHooks): Monitoring {
  const { log, registry, onLines } = hooks;
  const ready = hooks.storeReady?.() ?? Promise.resolve();
  const startPart = async <T>(name: string, start: () => Promise<T>): Promise<T | undefined> => {
    try {
      await ready;
      return await start();
    } catch (error) {
      if (hooks.required) throw error;
      log.error({ err: error }, `${name} could not start: ${(error as Error).message}`);
      return undefined;
    }
  };
  const settled = <T>(part: Promise<T | undefined>) => part.catch(() => undefined);

  /** The monitor job and alerting; `takeover` when another monitor may have evaluated before this one. */
  const startEvaluation = (takeover: boolean): { alerting: Promise<unknown>; stop: () => Promise<void> } => {
    const monitor = config.monitor;
    const job = monitor.enabled
      ? startMonitor(
          engine,
          catalogSource(engine, catalog, monitor, (note) => log.warn(note)),
          monitor,
          {
            registry,
            onError: (error) => log.error({ err: error }, `monitor run failed: ${error.message}`),
            onResults: (window, results) => {
              const lines = describeResults(window, results);
              for (const line of lines) log.info({ window, results: results.length }, line);
              onLines?.(lines);
            },
            rollouts: rolloutJudge(engine, catalogRollouts(catalog), {
              stepMs: monitor.step,
              slos: config.alerting?.slos ?? [],
              onRollback: (event) => {
                const line = `rollout: model ${event.modelName} candidate version ${event.candidateVersion} rolled back: ${event.reason}`;
                log.warn({ model: event.modelName, policy: event.policyId, candidate: event.candidateVersion }, line);
                onLines?.([line]);
              },
            }),
          },
        )
      : undefined;
    if (job) log.info({ store: engine.location, window: monitor.window, step: monitor.step, lag: monitor.lag }, "monitor running");
    const alertingConfig = config.alerting;
    const alerting = alertingConfig
      ? startPart("alerting", () => startAlerting(engine, alertingConfig, log, { registry, onLines, takeover }))
      : Promise.resolve(undefined);
    return {
      alerting,
      stop: async () => {
        await (await settled(alerting))?.stop();
        await job?.stop();
      },
    };
  };

  const apiOptions = config.api;
  const api = apiOptions
    ? startPart("monitor API", () => startApi(engine, catalog, config.alerting?.slos ?? [], apiOptions, config.monitor.step, log))
    : Promise.resolve(undefined);
  if (!config.lease) {
    const evaluation = startEvaluation(false);
    return {
      api,
      started: Promise.all([evaluation.alerting, api]).then(() => undefined),
      stop: async () => {
        await (await settled(api))?.close();
        await evaluation.stop();
      },
    };
  }

  const leaseOptions = config.lease;
  let evaluation: ReturnType<typeof startEvaluation> | undefined;
  const lease = new LeaderLease(engine, {
    name: "monitor",
    ...leaseOptions,
    onAcquire: async (term) => {
      log.info({ term, holder: leaseOptions.holder }, "monitor lease acquired: this monitor evaluates");
      evaluation = startEvaluation(true);
      await evaluation.alerting;
    },
    onRelease: async () => {
      log.info({ holder: leaseOptions.holder }, "monitor lease released: this monitor stands by");
      await evaluation?.stop();
      evaluation = undefined;
    },
    onError: (error) => log.error({ err: error }, `monitor lease: ${error.message}`),
  });
  const leasing = ready.then(() => lease.start());
  return {
    api,
    started: Promise.all([api, leasing]).then(() => undefined),
    stop: async () => {
      await (await settled(api))?.close();
      await leasing.catch(() => undefined);
      await lease.stop();
    },
  };
}

/** Says so when the monitor API accepts only a token it made up, and which. */
export function logGeneratedToken(api: StartedApi | undefined, log: Logger): void {
  if (api?.generated) log.warn({ token: api.token }, "VIGIL_API_TOKENS is not set: the monitor API accepts this generated token");
}

/** The models a running server has loaded, as the monitor's catalog. */
const servedCatalog = (server: InferenceServer) => (): CatalogModel[] =>
  server.repository.modelNames().flatMap((name) => {
    const loaded = server.repository.versions(name)[0];
    return loaded ? [{ name, config: loaded.config, dir: join(server.repository.root, name) }] : [];
  });

/**
 * The monitoring side inside an inference server's process, on the server's store (the embedded
 * engine allows no other process), started without waiting for the store's tables; undefined when
 * the server keeps no prediction log.
 */
export function monitorServer(
  server: InferenceServer,
  config: MonitoringConfig,
  hooks: Omit<MonitoringHooks, "registry" | "storeReady" | "required">,
): Monitoring | undefined {
  return monitorStore(server.store, servedCatalog(server), config, { ...hooks, registry: server.metricsRegistry });
}

/**
 * The monitoring side in the primary of `vigil serve --workers N`, on the store it opened; the
 * catalog is the repository's models as on disk, since the models are loaded in the workers.
 */
export function monitorRepository(
  store: Store | undefined,
  modelRepository: string,
  config: MonitoringConfig,
  hooks: Omit<MonitoringHooks, "storeReady" | "required">,
): Monitoring | undefined {
  const catalog = () => readCatalog(modelRepository, (error) => hooks.log.error({ err: error }, error.message));
  return monitorStore(store, catalog, config, hooks);
}

function monitorStore(
  store: Store | undefined,
  catalog: () => CatalogModel[],
  config: MonitoringConfig,
  hooks: Omit<MonitoringHooks, "storeReady" | "required">,
): Monitoring | undefined {
  if (!store) {
    if (config.alerting) hooks.log.warn("alerting is off: it reads the prediction log, and record_predictions is false");
    return undefined;
  }
  return startMonitoring(store.engine, catalog, config, { ...hooks, storeReady: () => store.ready() });
}

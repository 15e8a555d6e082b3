import cluster, { type Worker } from "node:cluster";
import type { Server as HttpServer } from "node:http";
import type { Logger } from "pino";
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, Registry, collectDefaultMetrics } from "prom-client";
import { type Store, WriterFullError, modelsOfRequests } from "@vigil/store";
import { serveMetrics } from "../grpc-server.js";
import { registerWriterMetrics } from "../metrics.js";
import type { ServerConfig } from "../server-config.js";
import { RolloutWatch, logRolloutWithoutStore } from "../rollout-watch.js";
import { IpcPeer } from "./ipc.js";
import type { ControlAction, ControlOutcome, PrimaryMethods, RecordEntry, WorkerMethods } from "./protocol.js";
import { sumStatistics } from "./statistics.js";
import { WORKER_CONFIG_VARIABLE, WORKER_SLOT_VARIABLE, recordsGoThroughPrimary } from "./worker.js";

/** How long the primary waits for a worker's share of /metrics or ModelStatistics before leaving it out. */
const GATHER_TIMEOUT_MS = 5000;
/** Beyond the server's own grace period, how long stopping workers may take before they are killed. */
const STOP_MARGIN_MS = 5000;
/** A worker that dies before it serves is started again after this, doubling up to a minute. */
const RESTART_DELAY_MS = 1000;
const MAX_RESTART_DELAY_MS = 60_000;

export interface WorkerPoolOptions {
  log: Logger;
  /**
   * The store this process opened. On the embedded engine it takes every worker's records; on a
   * ClickHouse server each worker writes itself, with its own spool directory.
   */
  store?: Store;
}

export interface WorkerPool {
  /** The registry /metrics adds to the workers' (process metrics of the primary, its writers); for other components of this process. */
  readonly metricsRegistry: Registry;
  readonly metricsPort: number | undefined;
  /** The process ids of the workers now running. */
  pids(): number[];
  /** Stops every worker (each drains like a single server), within the grace period; then /metrics. */
  stop(): Promise<void>;
}

interface Slot {
  index: number;
  worker: Worker;
  peer: IpcPeer<PrimaryMethods, WorkerMethods>;
  ready: boolean;
  /** Starts that died before serving, in a row. */
  failures: number;
}

/** A worker's config: on a ClickHouse server it writes itself, through a spool directory of its slot's own. */
function workerConfig(config: ServerConfig, slot: number): ServerConfig {
  return config.clickhouse_url === undefined ? config : { ...config, spool_dir: `${config.spool_dir}/worker-${slot}` };
}

async function appendAll(store: Store, entries: RecordEntry[]): Promise<Array<{ index: number; message: string }>> {
  const refused: Array<{ index: number; message: string }> = [];
  for (const [index, entry] of entries.entries()) {
    try {
      if (entry.table === "predictions") await store.predictions.append(entry.record, entry.waitMs);
      else if (entry.table === "labels") await store.labels.append(entry.record, entry.waitMs);
      else await store.spans.append(entry.record, entry.waitMs);
    } catch (error) {
      if (!(error instanceof WriterFullError)) throw error;
      refused.push({ index, message: error.message });
    }
  }
  return refused;
}

/**
 * The primary of `vigil serve --workers N`: forks N workers (this program again, which sees
 * WORKER_CONFIG_VARIABLE and serves), shares the gRPC port among them (cluster's round-robin),
 * starts a replacement for any that dies, and answers what needs the whole pool: the records of
 * the workers when it owns the embedded store, ModelStatistics and /metrics summed over them, and
 * model loads and unloads applied on every one. Resolves once every worker serves.
 */
export async function startWorkerPool(config: ServerConfig, workers: number, { log, store }: WorkerPoolOptions): Promise<WorkerPool> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "vigil_" });
  const takesRecords = recordsGoThroughPrimary(config) && store !== undefined;
  if (takesRecords) registerWriterMetrics(registry, store);

  cluster.schedulingPolicy = cluster.SCHED_RR;
  // Structured clone carries the records' bigints and Maps as they are.
  cluster.setupPrimary({ serialization: "advanced" });
  const slots: Array<Slot | undefined> = [];
  /**
   * Per model, the pool's last unload or load with a config override: what a replacement, which
   * loads the repository as on disk, must apply to match the other workers.
   */
  const standing = new Map<string, ControlAction>();
  let stopping = false;
  let started: { resolve: () => void; reject: (error: Error) => void } | undefined;
  const startup = new Promise<void>((resolve, reject) => {
    started = { resolve, reject };
  });
  const serving = () => slots.filter((s): s is Slot => s?.ready === true);
  const tellRolledBack = (slot: Slot, policyIds: string[]) =>
    slot.peer
      .call("rolledBack", { policyIds })
      .catch((error: Error) => log.warn({ worker: slot.index, err: error.message }, `worker ${slot.index} was not told the rollbacks`));
  const watch = store
    ? new RolloutWatch(store.engine, config.rollout_poll_secs * 1000, log, (policyIds) => {
        for (const slot of serving()) void tellRolledBack(slot, policyIds);
      })
    : undefined;

  const broadcast = async (action: ControlAction): Promise<ControlOutcome[]> => {
    if (action.action === "unload" || action.overrideFields !== undefined) standing.set(action.name, action);
    else standing.delete(action.name);
    return Promise.all(
      serving().map((s) =>
        s.peer.call("control", action).catch((error: Error) => ({ pid: s.worker.process.pid ?? 0, ok: false as const, message: error.message })),
      ),
    );
  };

  const gather = async <T>(ask: (slot: Slot) => Promise<T>): Promise<T[]> => {
    const answers = await Promise.allSettled(serving().map(ask));
    return answers.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
  };

  const fork = (index: number, failures: number): void => {
    const worker = cluster.fork({ [WORKER_SLOT_VARIABLE]: String(index), [WORKER_CONFIG_VARIABLE]: JSON.stringify(workerConfig(config, index)) });
    // With a callback, a send on a closed channel is reported here rather than thrown at the pool.
    const peer: IpcPeer<PrimaryMethods, WorkerMethods> = new IpcPeer((message) =>
      worker.send(message, undefined, undefined, (error: Error | null) => {
        if (error) peer.close(`worker ${index} cannot be reached: ${error.message}`);
      }),
    );
    const slot: Slot = { index, worker, peer, ready: false, failures };
    slots[index] = slot;
    worker.on("message", (message: unknown) => peer.receive(message));
    worker.on("error", (error: Error) => log.warn({ worker: index, err: error.message }, `worker ${index}: ${error.message}`));
    peer.handle("append", async ({ entries }) => {
      if (!takesRecords) throw new Error("this pool's workers write their records themselves");
      return { refused: await appendAll(store, entries) };
    });
    peer.handle("modelsOf", ({ requestIds }) => {
      if (!store) throw new Error("this pool keeps no prediction log");
      return modelsOfRequests(store.engine, requestIds);
    });
    peer.handle("statistics", async (query) => sumStatistics(await gather((s) => s.peer.call("statistics", query, GATHER_TIMEOUT_MS))));
    peer.handle("control", broadcast);
    peer.handle("rolloutStarted", async (rollout) => (watch ? watch.started(rollout) : logRolloutWithoutStore(log, rollout)));
    peer.handle("ready", () => {
      slot.ready = true;
      slot.failures = 0;
      log.info({ worker: index, pid: worker.process.pid }, `worker ${index} serving`);
      if (serving().length === workers) started?.resolve();
      const rolledBack = watch?.rolledBackIds() ?? [];
      if (rolledBack.length > 0) setImmediate(() => void tellRolledBack(slot, rolledBack));
      return [...standing.values()];
    });
    worker.on("exit", (code, signal) => {
      peer.close(`worker ${index} exited`);
      if (slots[index] === slot) slots[index] = undefined;
      if (stopping) return;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      if (!slot.ready && started) {
        started.reject(new Error(`worker ${index} ${how} before it could serve; its error is logged above`));
        return;
      }
      const delay = slot.ready ? 0 : Math.min(MAX_RESTART_DELAY_MS, RESTART_DELAY_MS * 2 ** slot.failures);
      log.error(
        { worker: index, pid: worker.process.pid, code, signal, restartInMs: delay },
        `worker ${index} (pid ${worker.process.pid}) ${how}; starting a replacement`,
      );
      setTimeout(() => {
        if (!stopping) fork(index, slot.ready ? 0 : slot.failures + 1);
      }, delay);
    });
  };

  const stopWorkers = async (): Promise<void> => {
    stopping = true;
    await watch?.stop();
    const live = slots.filter((s): s is Slot => s !== undefined && s.worker.isDead() === false);
    const exited = live.map((s) => new Promise<void>((resolve) => (s.worker.isDead() ? resolve() : s.worker.once("exit", () => resolve()))));
    for (const s of live) s.worker.process.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), config.shutdown_grace_ms + STOP_MARGIN_MS);
    });
    if ((await Promise.race([Promise.all(exited), bound])) === "late") {
      const left = live.filter((s) => !s.worker.isDead());
      log.warn({ workers: left.map((s) => s.worker.process.pid) }, `${left.length} workers did not stop in time; killing them`);
      for (const s of left) s.worker.process.kill("SIGKILL");
      await Promise.all(exited);
    }
    clearTimeout(timer);
  };

  for (let index = 0; index < workers; index++) fork(index, 0);
  try {
    await startup;
  } catch (error) {
    await stopWorkers();
    throw error;
  }
  started = undefined;
  watch?.start();

  let metricsServer: HttpServer | undefined;
  if (config.metrics_port !== null) {
    const summed = {
      contentType: registry.contentType,
      metrics: async () => {
        const parts: Array<Array<MetricObjectWithValues<MetricValue<string>>>> = [
          await registry.getMetricsAsJSON(),
          ...(await gather((s) => s.peer.call("metrics", {}, GATHER_TIMEOUT_MS))),
        ];
        return AggregatorRegistry.aggregate(parts).metrics();
      },
    };
    metricsServer = await serveMetrics(summed, config.host, config.metrics_port);
  }
  const metricsPort = metricsServer ? (metricsServer.address() as { port: number }).port : undefined;
  if (metricsPort !== undefined)
    log.info({ url: `http://${config.host}:${metricsPort}/metrics` }, "Prometheus metrics endpoint listening (summed over the workers)");
  log.info({ workers, pids: serving().map((s) => s.worker.process.pid) }, `${workers} workers serving on one port`);

  return {
    metricsRegistry: registry,
    metricsPort,
    pids: () => slots.flatMap((s) => (s?.worker.process.pid === undefined ? [] : [s.worker.process.pid])),
    stop: async () => {
      await stopWorkers();
      await new Promise((resolve) => (metricsServer ? metricsServer.close(resolve) : resolve(undefined)));
    },
  };
}

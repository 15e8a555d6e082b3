import { InferenceError } from "../errors.js";
import { type InferenceServer, startInferenceServer } from "../grpc-server.js";
import { createLogger } from "../logger.js";
import type { ModelRepository } from "../repository.js";
import { type ServerConfig, serverConfigSchema } from "../server-config.js";
import { localStatistics } from "../service.js";
import { ForwardedLog } from "./forwarded-log.js";
import type { ModelControl } from "./hooks.js";
import { IpcPeer } from "./ipc.js";
import type { ControlAction, ControlOutcome, PrimaryMethods, WorkerMethods } from "./protocol.js";

/** The variables the primary starts a worker with: its config (JSON) and its slot, 0 to N-1. */
export const WORKER_CONFIG_VARIABLE = "VIGIL_WORKER_CONFIG";
export const WORKER_SLOT_VARIABLE = "VIGIL_WORKER_SLOT";

/** Whether the records of a pool's workers go through the primary: it alone may open the embedded store. */
export const recordsGoThroughPrimary = (config: ServerConfig): boolean => config.record_predictions && config.clickhouse_url === undefined;

/** Whether this process was started by a worker pool's primary to serve. */
export function isServingWorker(env: NodeJS.ProcessEnv = process.env): boolean {
  return typeof process.send === "function" && env[WORKER_CONFIG_VARIABLE] !== undefined;
}

async function apply(repository: ModelRepository, action: ControlAction): Promise<ControlOutcome> {
  try {
    await (action.action === "load" ? repository.load(action.name, action.overrideFields) : repository.unload(action.name));
    return { pid: process.pid, ok: true };
  } catch (error) {
    return { pid: process.pid, ok: false, code: error instanceof InferenceError ? error.code : undefined, message: (error as Error).message };
  }
}

/**
 * One worker of `vigil serve --workers N`: the inference server, on the port the primary shares
 * among its workers, with its records, ModelStatistics and model control going through the
 * primary. Stops on SIGTERM or SIGINT, or when the primary goes away; repeated signals do not cut
 * the drain short (the primary bounds it).
 */
export async function runServingWorker(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const send = process.send?.bind(process);
  if (!send) throw new Error("a serving worker needs the IPC channel of the process that started it");
  const slot = Number(env[WORKER_SLOT_VARIABLE]);
  const config = serverConfigSchema.parse(JSON.parse(env[WORKER_CONFIG_VARIABLE] ?? "{}"));
  const log = createLogger(config.log_level).child({ worker: slot, pid: process.pid });
  const primary: IpcPeer<WorkerMethods, PrimaryMethods> = new IpcPeer((message) =>
    send(message, undefined, undefined, (error: Error | null) => {
      if (error) primary.close(`the primary process cannot be reached: ${error.message}`);
    }),
  );
  process.on("message", (message) => primary.receive(message));
  const remoteLog = recordsGoThroughPrimary(config) ? new ForwardedLog(primary) : undefined;

  /** The RPC's answer: this worker's failure first, else any other worker's. */
  const everywhere = async (action: ControlAction): Promise<void> => {
    const outcomes = await primary.call("control", action);
    const failed = outcomes.find((o) => !o.ok && o.pid === process.pid) ?? outcomes.find((o) => !o.ok);
    if (!failed || failed.ok) return;
    throw failed.code === undefined ? new Error(failed.message) : new InferenceError(failed.code, failed.message);
  };
  const control: ModelControl = {
    load: (name, overrideFields) => everywhere({ action: "load", name, overrideFields }),
    unload: (name) => everywhere({ action: "unload", name }),
  };

  let server: InferenceServer | undefined;
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      log.info({ why }, `worker ${slot} stopping`);
      await server?.shutdown();
      await remoteLog?.drain();
    })().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, `worker ${slot} failed to stop cleanly`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("disconnect", () => {
    primary.close("the primary process is gone");
    stop("the primary process is gone");
  });

  primary.handle("statistics", ({ name, version }) => {
    if (!server) return [];
    try {
      return localStatistics(server.repository, name, version);
    } catch {
      // A model this worker does not hold (a load that failed here only) adds nothing to the sum.
      return [];
    }
  });
  primary.handle("metrics", async () => (await server?.metricsRegistry?.getMetricsAsJSON()) ?? []);
  primary.handle("rolledBack", ({ policyIds }) => server?.rollouts.setRolledBack(policyIds));
  primary.handle("control", (action) => (server ? apply(server.repository, action) : { pid: process.pid, ok: false, message: "worker is starting" }));

  server = await startInferenceServer(config, {
    log,
    worker: {
      remoteLog,
      statistics: (name, version) => primary.call("statistics", { name, version }),
      control,
      rolloutStarted: (rollout) => primary.call("rolloutStarted", rollout),
    },
  });
  // What the pool changed before this worker was ready (a replacement): unloads, and loads with a config override.
  // Started together, so each is queued on its model ahead of any broadcast that follows.
  const pending = await primary.call("ready", { slot });
  const repository = server.repository;
  const outcomes = await Promise.all(pending.map((action) => apply(repository, action)));
  outcomes.forEach((outcome, i) => {
    const { action, name } = pending[i]!;
    if (!outcome.ok) log.warn({ model: name, action, err: outcome.message }, `worker ${slot} could not ${action} model ${name} as the pool did`);
  });
}

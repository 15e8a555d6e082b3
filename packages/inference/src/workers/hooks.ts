import type { ModelStatistics } from "@vigil/proto";
import type { ActiveRollout } from "../rollout.js";
import type { LabelRecord, PredictionRecord, RecordSink, SpanRecord } from "@vigil/store";

/** Where a server's records go when another process owns the store. */
export interface RemoteLog {
  predictions: RecordSink<PredictionRecord>;
  labels: RecordSink<LabelRecord>;
  spans: RecordSink<SpanRecord>;
  /** The models each request id is logged under (the labels check reads the log). */
  modelsOf(requestIds: string[]): Promise<Map<string, string[]>>;
}

/** RepositoryModelLoad and RepositoryModelUnload, as the RPCs apply them. */
export interface ModelControl {
  /** `overrideFields`: a load's `config` parameter, fields that replace the model's config.json for this load. */
  load(name: string, overrideFields?: Record<string, unknown>): Promise<void>;
  unload(name: string): Promise<void>;
}

/**
 * What changes for a server that is one worker of several on one port: it serves no /metrics of
 * its own (the primary sums the workers'), ModelStatistics and model control reach every worker,
 * and, on the embedded store, its records go to the primary.
 */
export interface WorkerHooks {
  /** Absent when the worker writes to a ClickHouse server itself. */
  remoteLog?: RemoteLog;
  /** ModelStatistics summed over every worker, for a request naming `name` and `version` ("" for all). */
  statistics(name: string, version: string): Promise<ModelStatistics[]>;
  /** Applies a load or unload on every worker; the local repository is reached through the primary too. */
  control: ModelControl;
  /** Tells the primary, which writes the rollout events, that this worker began applying a policy. */
  rolloutStarted(rollout: ActiveRollout): Promise<void>;
}

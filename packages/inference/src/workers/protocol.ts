import type { ModelStatistics } from "@vigil/proto";
import type { LabelRecord, PredictionRecord, SpanRecord } from "@vigil/store";
import type { MetricObjectWithValues, MetricValue } from "prom-client";
import type { ActiveRollout } from "../rollout.js";
import type { Method } from "./ipc.js";

/** One record a worker hands the primary's writers, with how long it may wait for room. */
export type RecordEntry =
  | { table: "predictions"; record: PredictionRecord; waitMs?: number }
  | { table: "labels"; record: LabelRecord; waitMs?: number }
  | { table: "spans"; record: SpanRecord; waitMs?: number };

export type ControlAction = { action: "load"; name: string; overrideFields?: Record<string, unknown> } | { action: "unload"; name: string };

/** One worker's outcome of a load or unload; `code` is the gRPC status it failed with. */
export type ControlOutcome = { pid: number; ok: true } | { pid: number; ok: false; code?: number; message: string };

export type StatisticsQuery = { name: string; version: string };

/** What the primary answers to its workers. */
export type PrimaryMethods = {
  /** Every record appended in one event-loop turn of a worker; replies once each is queued or refused (index and why). */
  append: Method<{ entries: RecordEntry[] }, { refused: Array<{ index: number; message: string }> }>;
  modelsOf: Method<{ requestIds: string[] }, Map<string, string[]>>;
  statistics: Method<StatisticsQuery, ModelStatistics[]>;
  control: Method<ControlAction, ControlOutcome[]>;
  /** A worker has loaded its models; the reply is the loads and unloads it must still apply. */
  ready: Method<{ slot: number }, ControlAction[]>;
  /** A worker began applying a rollout policy (the primary writes its 'started' event once). */
  rolloutStarted: Method<ActiveRollout, void>;
};

/** What each worker answers to the primary. */
export type WorkerMethods = {
  statistics: Method<StatisticsQuery, ModelStatistics[]>;
  metrics: Method<Record<string, never>, Array<MetricObjectWithValues<MetricValue<string>>>>;
  control: Method<ControlAction, ControlOutcome>;
  /** The ids of every rolled-back rollout policy, sent whenever that set changes and to each worker once it serves. */
  rolledBack: Method<{ policyIds: string[] }, void>;
};

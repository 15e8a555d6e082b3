import { type Aggregator, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { PredictionRole, Store } from "@vigil/store";
import type { ModelVersion } from "./model-version.js";
import type { ModelRepository, ModelState } from "./repository.js";

/**
 * Why a shadow run was skipped or came to nothing: queue_full (shadow_max_queue runs already
 * waiting), rolled_back (the policy was rolled back), failed (the candidate failed; its shadow
 * rows hold the error), log_full (the prediction log had no room for its rows).
 */
export type ShadowSkipReason = "queue_full" | "rolled_back" | "failed" | "log_full";

const LATENCY_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const STATES: ModelState[] = ["LOADING", "READY", "UNLOADING", "UNAVAILABLE"];

/** The series one model version moves on every answered request and execution. */
type VersionLabels = "model" | "version";
interface VersionSeries {
  answered: Counter.Internal;
  requestSeconds: Histogram.Internal<VersionLabels>;
  queueSeconds: Histogram.Internal<VersionLabels>;
  computeSeconds: Histogram.Internal<VersionLabels>;
  batchRows: Histogram.Internal<VersionLabels>;
}

/**
 * The server's Prometheus metrics (names and their Triton equivalents are in the README).
 * Counters and histograms move per request; gauges are read from the server's state when
 * Prometheus scrapes, so they cost nothing between scrapes.
 */
/** The series kept under `key`, made on first use. */
function kept<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let series = cache.get(key);
  if (series === undefined) {
    series = make();
    cache.set(key, series);
  }
  return series;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"model" | "version" | "status">;
  private readonly requestSeconds: Histogram<"model" | "version">;
  private readonly queueSeconds: Histogram<"model" | "version">;
  private readonly computeSeconds: Histogram<"model" | "version">;
  private readonly batchRows: Histogram<"model" | "version">;
  private readonly rpcs: Counter<"method" | "code">;
  private readonly nonFinite: Counter<"model" | "version">;
  private readonly unmatchedLabels: Counter<"model">;
  private readonly rolloutRequests: Counter<"model" | "version" | "role">;
  private readonly shadowSkipped: Counter<"model" | "version" | "reason">;
  /** prom-client hashes a label object on every call; the hot series are looked up once and kept. */
  private readonly versionSeries = new Map<string, VersionSeries>();
  private readonly rpcSeries = new Map<string, Counter.Internal>();
  private readonly rolloutSeries = new Map<string, Counter.Internal>();

  constructor(repository: ModelRepository, store: Store | undefined) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "vigil_" });
    this.requests = new Counter({
      name: "vigil_inference_requests_total",
      help: "Inference requests by model, version and gRPC status",
      labelNames: ["model", "version", "status"],
      registers,
    });
    const histogram = (name: string, help: string, buckets: number[]) => new Histogram({ name, help, labelNames: ["model", "version"], buckets, registers });
    this.requestSeconds = histogram("vigil_inference_request_duration_seconds", "Time from arrival to reply of answered requests", LATENCY_BUCKETS);
    this.queueSeconds = histogram("vigil_inference_queue_duration_seconds", "Time answered requests waited in the batching queue", LATENCY_BUCKETS);
    this.computeSeconds = histogram(
      "vigil_inference_compute_duration_seconds",
      "Execution time of the batch each answered request ran in (input, infer, output)",
      LATENCY_BUCKETS,
    );
    this.batchRows = histogram("vigil_inference_batch_size", "Rows per model execution", BATCH_BUCKETS);
    this.nonFinite = new Counter({
      name: "vigil_inference_non_finite_outputs_total",
      help: "Request rows answered with NaN or infinite output values (logged as NON_FINITE_OUTPUT, outside quality and drift)",
      labelNames: ["model", "version"],
      registers,
    });
    this.unmatchedLabels = new Counter({
      name: "vigil_labels_unmatched_total",
      help: "Labels accepted for request ids the prediction log did not hold when they arrived",
      labelNames: ["model"],
      registers,
    });
    this.rolloutRequests = new Counter({
      name: "vigil_rollout_requests_total",
      help: "Requests of models with a rollout policy, by the version that ran them and its role (primary, canary, shadow)",
      labelNames: ["model", "version", "role"],
      registers,
    });
    this.shadowSkipped = new Counter({
      name: "vigil_shadow_skipped_total",
      help: "Shadow runs on a candidate version not made or not logged, by reason (queue_full, rolled_back, failed, log_full)",
      labelNames: ["model", "version", "reason"],
      registers,
    });
    this.rpcs = new Counter({
      name: "vigil_grpc_server_handled_total",
      help: "RPCs completed, by method and gRPC status",
      labelNames: ["method", "code"],
      registers,
    });

    const perVersion = (name: string, help: string, read: (v: ModelVersion) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["model", "version"],
        registers,
        collect() {
          this.reset();
          for (const model of repository.modelNames()) for (const v of repository.versions(model)) this.set({ model, version: String(v.version) }, read(v));
        },
      });
    perVersion("vigil_inference_queue_depth", "Requests waiting in a model version's queue", (v) => v.scheduler.queueDepth);
    perVersion("vigil_inference_executions_in_flight", "Batches running on a model version now", (v) => v.scheduler.inFlight);
    new Gauge({
      name: "vigil_model_state",
      help: "1 for the state each model is in (LOADING, READY, UNLOADING, UNAVAILABLE)",
      labelNames: ["model", "state"],
      registers,
      // Over the workers of a pool: 1 when any worker has the model in that state.
      aggregator: "max",
      collect() {
        this.reset();
        for (const name of repository.modelNames()) for (const state of STATES) this.set({ model: name, state }, repository.state(name) === state ? 1 : 0);
      },
    });
    new Gauge({
      name: "vigil_model_execution_provider",
      help: "1 for the execution provider each loaded model version runs on",
      labelNames: ["model", "version", "provider"],
      registers,
      aggregator: "max",
      collect() {
        this.reset();
        for (const name of repository.modelNames())
          for (const v of repository.versions(name)) this.set({ model: name, version: String(v.version), provider: v.provider.provider }, 1);
      },
    });
    if (store) registerWriterMetrics(this.registry, store);
  }

  /** An answered or refused inference request. */
  observeRequest(model: string, version: string, status: string, seconds?: { total: number; queue: number; compute: number }): void {
    if (status !== "OK" || !seconds) {
      this.requests.inc({ model, version, status });
      return;
    }
    const series = this.seriesOf(model, version);
    series.answered.inc();
    series.requestSeconds.observe(seconds.total);
    series.queueSeconds.observe(seconds.queue);
    series.computeSeconds.observe(seconds.compute);
  }

  observeNonFinite(model: string, version: string, rows: number): void {
    this.nonFinite.inc({ model, version }, rows);
  }

  observeRollout(model: string, version: string, role: PredictionRole): void {
    kept(this.rolloutSeries, `${model}\n${version}\n${role}`, () => this.rolloutRequests.labels(model, version, role)).inc();
  }

  observeShadowSkipped(model: string, version: string, reason: ShadowSkipReason): void {
    this.shadowSkipped.inc({ model, version, reason });
  }

  observeUnmatchedLabels(model: string, labels: number): void {
    this.unmatchedLabels.inc({ model }, labels);
  }

  observeExecution(model: string, version: string, rows: number): void {
    this.seriesOf(model, version).batchRows.observe(rows);
  }

  observeRpc(method: string, code: string): void {
    kept(this.rpcSeries, `${method}\n${code}`, () => this.rpcs.labels(method, code)).inc();
  }

  /** Model and version are names the repository knows, so the map stays as small as the repository. */
  private seriesOf(model: string, version: string): VersionSeries {
    return kept(this.versionSeries, `${model}\n${version}`, () => ({
      answered: this.requests.labels(model, version, "OK"),
      requestSeconds: this.requestSeconds.labels(model, version),
      queueSeconds: this.queueSeconds.labels(model, version),
      computeSeconds: this.computeSeconds.labels(model, version),
      batchRows: this.batchRows.labels(model, version),
    }));
  }
}

/**
 * The store writers' health, read when Prometheus scrapes. Summed over the workers of a pool,
 * except the yes/no gauges: engine available and spool writable only when they are in every
 * process (min), backpressure when it is in any (max).
 */
export function registerWriterMetrics(registry: Registry, store: Store): void {
  const registers = [registry];
  const stats = () => store.writerStats();
  const gauge = (name: string, help: string, read: (s: ReturnType<Store["writerStats"]>[number]) => number, aggregator: Aggregator = "sum") =>
    new Gauge({
      name,
      help,
      labelNames: ["table"],
      registers,
      aggregator,
      collect() {
        for (const s of stats()) this.set({ table: s.table }, read(s));
      },
    });
  /** A counter that follows a cumulative figure kept elsewhere. */
  const cumulative = (name: string, help: string, read: (s: ReturnType<Store["writerStats"]>[number]) => number) => {
    const seen = new Map<string, number>();
    return new Counter({
      name,
      help,
      labelNames: ["table"],
      registers,
      collect() {
        for (const s of stats()) {
          const delta = read(s) - (seen.get(s.table) ?? 0);
          if (delta > 0) this.inc({ table: s.table }, delta);
          seen.set(s.table, read(s));
        }
      },
    });
  };
  gauge("vigil_store_writer_memory_rows", "Rows held in memory by the writer (pending and cut batches)", (s) => s.memoryRows);
  gauge("vigil_store_writer_spool_bytes", "Bytes of batches waiting in the disk spool", (s) => s.spoolBytes);
  gauge("vigil_store_writer_spool_batches", "Batches waiting in the disk spool", (s) => s.spoolBatches);
  gauge("vigil_store_writer_last_flush_seconds", "Duration of the last successful insert", (s) => s.lastFlushMs / 1000, "max");
  gauge("vigil_store_writer_engine_available", "1 while the last insert succeeded", (s) => (s.engineAvailable ? 1 : 0), "min");
  gauge("vigil_store_writer_backpressure", "1 while memory and spool are full and appends wait", (s) => (s.backpressure ? 1 : 0), "max");
  gauge("vigil_store_writer_spool_writable", "0 while the disk spool cannot be written (disk full, read-only)", (s) => (s.spoolWritable ? 1 : 0), "min");
  cumulative("vigil_store_writer_inserted_rows_total", "Rows inserted into ClickHouse", (s) => s.insertedRows);
  cumulative("vigil_store_writer_failed_inserts_total", "Inserts that failed and were retried or spooled", (s) => s.failedInserts);
}

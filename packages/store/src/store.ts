import { join } from "node:path";
import type { Logger } from "pino";
import { StoreUnavailableError, type StoreEngine } from "./engine.js";
import { MIGRATIONS_DIR, applyRetention, migrate, type Retention } from "./migrations.js";
import { openEngine } from "./open.js";
import { LABELS, type LabelRecord, labelRow } from "./tables/labels.js";
import { PREDICTIONS, type PredictionRecord, predictionRow } from "./tables/predictions.js";
import { SPANS, type SpanRecord, spanRow } from "./tables/spans.js";
import { BatchedWriter, type WriterOptions, type WriterStats } from "./writer.js";

export interface StoreOptions {
  /** ClickHouse server URL (VIGIL_CLICKHOUSE_URL); the embedded engine when absent. */
  clickhouseUrl?: string;
  /** Embedded engine data directory. */
  dataDir: string;
  /** Where writers spool batches the engine has not taken. */
  spoolDir: string;
  retention: Retention;
  log: Logger;
  /** Writer tuning shared by every table (tests shrink these). */
  writer?: Pick<WriterOptions<unknown>, "maxBatchRows" | "maxBatchAgeMs" | "maxMemoryRows" | "spoolBudgetBytes" | "retryInitialMs" | "retryMaxMs">;
  /** Create the schema replicated and distributed on this ClickHouse cluster (src/cluster.ts). */
  cluster?: string;
  /** Use this engine instead of opening one (tests that inject faults). */
  engine?: StoreEngine;
}

/**
 * Vigil's storage: one engine, its schema, and a batched writer per written table. Opening
 * never fails because ClickHouse is down: writers hold and spool rows while the schema step is
 * retried in the background, and start delivering once the tables exist.
 */
export class Store {
  private migrated: Promise<void>;
  private stopped = false;

  private constructor(
    readonly engine: StoreEngine,
    readonly predictions: BatchedWriter<PredictionRecord>,
    readonly labels: BatchedWriter<LabelRecord>,
    readonly spans: BatchedWriter<SpanRecord>,
    private readonly options: StoreOptions,
  ) {
    this.migrated = this.prepare();
  }

  static async open(options: StoreOptions): Promise<Store> {
    const engine = options.engine ?? openEngine({ clickhouseUrl: options.clickhouseUrl, dataDir: options.dataDir });
    const writer = <T>(table: string, encode: (r: T) => Record<string, unknown>) =>
      BatchedWriter.open<T>({ engine, table, encode, spoolDir: join(options.spoolDir, table), log: options.log, ...options.writer });
    const store = new Store(engine, await writer(PREDICTIONS, predictionRow), await writer(LABELS, labelRow), await writer(SPANS, spanRow), options);
    return store;
  }

  /** Resolves once migrations have been applied (they are retried until the engine answers). */
  ready(): Promise<void> {
    return this.migrated;
  }

  writerStats(): WriterStats[] {
    return [this.predictions.stats(), this.labels.stats(), this.spans.stats()];
  }

  /** Flushes writers (spooling what the engine does not take) and closes the engine. */
  async close(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.predictions.close(), this.labels.close(), this.spans.close()]);
    await this.engine.close();
  }

  private async prepare(): Promise<void> {
    const { log } = this.options;
    for (let delay = 500; !this.stopped; delay = Math.min(delay * 2, 15_000)) {
      try {
        const target = { cluster: this.options.cluster };
        const applied = await migrate(this.engine, MIGRATIONS_DIR, target);
        await applyRetention(this.engine, this.options.retention, target);
        if (applied.length > 0) log.info({ applied, store: this.engine.location }, `applied migrations ${applied.join(", ")}`);
        for (const writer of [this.predictions, this.labels, this.spans]) writer.start();
        return;
      } catch (error) {
        // Closed while still preparing (the process was asked to stop during start-up): nothing failed.
        if (this.stopped) return;
        if (!(error instanceof StoreUnavailableError)) throw error;
        log.error({ err: error.message, retryMs: delay }, `${this.engine.location} unavailable at start; rows are held and spooled until it answers`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { Logger } from "pino";
import { type StoreEngine, StoreQueryError } from "./engine.js";
import { type Batch, Spool, type SpooledBatch, insertBySeq } from "./spool.js";

export interface WriterOptions<T> {
  engine: StoreEngine;
  table: string;
  /** Turns a record into the JSON object of one row. */
  encode: (record: T) => Record<string, unknown>;
  /** Directory for this table's spool (created if missing). */
  spoolDir: string;
  log: Logger;
  /** Flush when this many rows are pending... */
  maxBatchRows?: number;
  /** ...or when the oldest pending row is this old. */
  maxBatchAgeMs?: number;
  /** Rows held in memory (pending and cut batches); beyond this, batches spill to the spool. */
  maxMemoryRows?: number;
  /** Disk the spool may use; when full, appends wait (backpressure) instead of dropping rows. */
  spoolBudgetBytes?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** A batch ClickHouse rejects this many times is moved aside to `<spool>/rejected`, loudly. */
  maxRejections?: number;
}

export interface WriterStats {
  table: string;
  pendingRows: number;
  memoryRows: number;
  spoolBatches: number;
  spoolBytes: number;
  insertedRows: number;
  insertedBatches: number;
  failedInserts: number;
  lastFlushMs: number;
  engineAvailable: boolean;
  backpressure: boolean;
  /** False while writing the spool fails (disk full, read-only, gone): batches stay in memory. */
  spoolWritable: boolean;
}

/**
 * Where records are handed over to be kept: the batched writer itself, or a forwarder to the
 * process that owns the writer. Resolves once the record is safely queued; refuses it with
 * WriterFullError after `maxWaitMs` when there is no room.
 */
export interface RecordSink<T> {
  append(record: T, maxWaitMs?: number): Promise<void>;
}

/** Appending would exceed both the memory queue and the spool budget, and the caller gave up waiting. */
export class WriterFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WriterFullError";
  }
}

/**
 * A batch cut from the accepted rows: lines serialised at the end of the turns that took them,
 * and records taken since, serialised with the rest when the batch is first sent or spooled.
 */
interface HeldBatch<T> {
  seq: number;
  token: string;
  rows: number;
  lines: string[];
  records: T[];
  body?: Buffer;
}

/**
 * The one path every table write takes. Rows are batched by size or age and inserted with a
 * deduplication token; when the engine is down or slow the batches go to an append-only disk
 * spool and are replayed oldest first when it recovers and at the next start. Replays reuse
 * the token, so a batch is never counted twice. Nothing is dropped: when memory and spool are
 * both full, append() waits, and says so loudly.
 */
export class BatchedWriter<T> implements RecordSink<T> {
  private readonly opts: Required<Omit<WriterOptions<T>, "encode" | "engine" | "log" | "table" | "spoolDir">>;
  private readonly spool: Spool;
  /**
   * Rows accepted since the last cut: records not yet serialised (turned into JSON lines at the
   * end of the event-loop turn that took them, after their requests were answered) and the
   * chunks of lines already serialised. Held in memory either way, so counted alike.
   */
  private unencoded: T[] = [];
  private encodedChunks: string[] = [];
  private pendingRows = 0;
  private encodeScheduled: NodeJS.Immediate | undefined;
  private readonly memory: HeldBatch<T>[] = [];
  private memoryRowCount = 0;
  private nextSeq = 1;
  private ageTimer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private engineAvailable = true;
  private closed = false;
  /** Until start(), rows are held (and spilled) but nothing is sent: the tables may not exist yet. */
  private started = false;
  private spaceWaiters: Array<() => void> = [];
  private readonly rejections = new Map<string, number>();
  private readonly counters = { insertedRows: 0, insertedBatches: 0, failedInserts: 0, lastFlushMs: 0 };
  private backpressureSince = 0;
  private spoolError: string | undefined;

  private constructor(private readonly options: WriterOptions<T>) {
    this.opts = {
      maxBatchRows: options.maxBatchRows ?? 5000,
      maxBatchAgeMs: options.maxBatchAgeMs ?? 1000,
      maxMemoryRows: options.maxMemoryRows ?? 100_000,
      spoolBudgetBytes: options.spoolBudgetBytes ?? 1024 ** 3,
      retryInitialMs: options.retryInitialMs ?? 200,
      retryMaxMs: options.retryMaxMs ?? 10_000,
      maxRejections: options.maxRejections ?? 5,
    };
    this.retryDelay = this.opts.retryInitialMs;
    this.spool = new Spool(options.spoolDir);
  }

  /** Creates a writer over its spool directory, loading what a previous run left there. */
  static async open<T>(options: WriterOptions<T>): Promise<BatchedWriter<T>> {
    const writer = new BatchedWriter(options);
    writer.nextSeq = await writer.spool.open();
    return writer;
  }

  /** Starts delivering, oldest spooled batch first. Call once the tables exist. */
  start(): void {
    this.started = true;
    if (this.spool.batches > 0) {
      this.options.log.warn(
        { table: this.options.table, batches: this.spool.batches, bytes: this.spool.bytes },
        `replaying ${this.spool.batches} spooled batches into ${this.options.table}`,
      );
    }
    this.kick();
  }

  stats(): WriterStats {
    return {
      table: this.options.table,
      pendingRows: this.pendingRows,
      memoryRows: this.memoryRowCount + this.pendingRows,
      spoolBatches: this.spool.batches,
      spoolBytes: this.spool.bytes,
      ...this.counters,
      engineAvailable: this.engineAvailable,
      backpressure: this.backpressureSince > 0,
      spoolWritable: this.spoolError === undefined,
    };
  }

  /**
   * Accepts a record; resolves once it is held by the writer (memory or spool). Waits while
   * both are full, at most `maxWaitMs` (default: as long as it takes); then the record is
   * refused with WriterFullError, never dropped. The record is serialised later, off the
   * caller's path, so it must not change after it is handed over.
   */
  async append(record: T, maxWaitMs?: number): Promise<void> {
    if (this.closed) throw new Error(`writer for ${this.options.table} is closed`);
    let deadline: AbortSignal | undefined;
    while (this.memoryRowCount + this.pendingRows >= this.opts.maxMemoryRows) {
      if (await this.spillOldest()) continue;
      // Created only when the writer is full: a timer per append would cost every request.
      if (maxWaitMs !== undefined) deadline ??= AbortSignal.timeout(maxWaitMs);
      await this.waitForSpace(deadline);
    }
    if (this.backpressureSince > 0) {
      this.options.log.warn({ table: this.options.table, ms: Date.now() - this.backpressureSince }, `writer for ${this.options.table} accepts rows again`);
      this.backpressureSince = 0;
    }
    this.unencoded.push(record);
    this.pendingRows++;
    if (this.pendingRows >= this.opts.maxBatchRows) this.cut();
    else {
      this.encodeScheduled ??= setImmediate(() => this.encodeTurn());
      this.ageTimer ??= setTimeout(() => this.cut(), this.opts.maxBatchAgeMs);
    }
  }

  /**
   * End of a turn that took rows: serialise them as one chunk, so the records die young and the
   * work is done once per turn rather than inside each request.
   */
  private encodeTurn(): void {
    this.encodeScheduled = undefined;
    if (this.unencoded.length === 0) return;
    const records = this.unencoded;
    this.unencoded = [];
    const lines = this.encodeRecords(records);
    this.pendingRows -= records.length - lines.length;
    if (lines.length > 0) this.encodedChunks.push(lines.join("\n"));
  }

  private encodeRecords(records: T[]): string[] {
    const lines: string[] = [];
    for (const record of records) {
      try {
        lines.push(JSON.stringify(this.options.encode(record)));
      } catch (error) {
        // Only a defect in a table's encoder gets here: say so as loudly as a lost row deserves.
        this.options.log.fatal(
          { table: this.options.table, err: (error as Error).message },
          `a row for ${this.options.table} could not be serialised and is lost: ${(error as Error).message}`,
        );
      }
    }
    return lines;
  }

  /** The batch's body, built once; the rows it could not serialise leave the count. */
  private serialise(batch: HeldBatch<T>): HeldBatch<T> & Batch {
    if (!batch.body) {
      const lines = this.encodeRecords(batch.records);
      const lost = batch.records.length - lines.length;
      batch.rows -= lost;
      if (this.memory.includes(batch)) this.memoryRowCount -= lost;
      batch.body = Buffer.from(`${[...batch.lines, ...lines].join("\n")}\n`);
      batch.lines = [];
      batch.records = [];
    }
    return batch as HeldBatch<T> & Batch;
  }

  /** Sends everything pending now and resolves when memory is empty (delivered or spooled). */
  async flush(): Promise<void> {
    this.cut();
    if (!this.started) return;
    while (this.memory.length > 0 || this.pumping) {
      this.kick();
      await this.pumping;
      if (!this.engineAvailable) break;
    }
  }

  /**
   * Flushes what it can; whatever the engine does not take in `timeoutMs` is spooled for the
   * next start. Spooling at close ignores the budget: overrunning disk beats losing rows.
   */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cut();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    clearTimeout(this.retryTimer);
    await this.pumping;
    while (this.memory.length > 0) {
      if (await this.moveToSpool(this.memory[0]!, true)) continue;
      const rows = this.memoryRowCount;
      this.options.log.fatal(
        { table: this.options.table, rows, dir: this.spool.dir, err: this.spoolError },
        `${rows} rows for ${this.options.table} are lost: ${this.options.engine.location} did not take them and the spool cannot be written (${this.spoolError})`,
      );
      break;
    }
    clearTimeout(this.ageTimer);
    if (this.spool.batches > 0) {
      this.options.log.warn(
        { table: this.options.table, batches: this.spool.batches, bytes: this.spool.bytes },
        `${this.spool.batches} batches for ${this.options.table} stay spooled for the next start`,
      );
    }
  }

  /** Seals the pending rows into a batch; serialising what is left of them waits until it is sent or spooled. */
  private cut(): void {
    clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
    if (this.pendingRows === 0) return;
    const batch: HeldBatch<T> = { seq: this.nextSeq++, token: randomUUID(), rows: this.pendingRows, lines: this.encodedChunks, records: this.unencoded };
    this.encodedChunks = [];
    this.unencoded = [];
    this.pendingRows = 0;
    this.memory.push(batch);
    this.memoryRowCount += batch.rows;
    this.kick();
  }

  private kick(): void {
    if (!this.started || this.pumping || this.retryTimer) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
    });
  }

  /** Delivers batches oldest first, one insert at a time, until none are left or the engine fails. */
  private async pump(): Promise<void> {
    for (;;) {
      const spooled = this.spool.oldest();
      const inMemory = this.memory[0];
      if (!spooled && !inMemory) return;
      const fromSpool = spooled !== undefined && (inMemory === undefined || spooled.seq < inMemory.seq);
      const batch = fromSpool ? await this.spool.read(spooled) : this.serialise(inMemory!);
      const started = performance.now();
      try {
        await this.options.engine.insertJsonLines(this.options.table, batch.body, { deduplicationToken: batch.token });
      } catch (error) {
        this.counters.failedInserts++;
        if (await this.handleFailure(error, batch, fromSpool ? spooled : undefined)) continue;
        return;
      }
      this.counters.lastFlushMs = performance.now() - started;
      this.counters.insertedRows += batch.rows;
      this.counters.insertedBatches++;
      if (fromSpool) await this.spool.remove(spooled);
      else this.dropFromMemory(batch);
      if (!this.engineAvailable) {
        this.engineAvailable = true;
        this.options.log.info(
          { table: this.options.table, spooled: this.spool.batches },
          `${this.options.engine.location} is back; replaying the spool into ${this.options.table}`,
        );
      }
      this.retryDelay = this.opts.retryInitialMs;
      this.wakeWaiters();
    }
  }

  /** Returns true to continue pumping (the batch was set aside), false to back off and retry. */
  private async handleFailure(error: unknown, batch: Batch, spooled: SpooledBatch | undefined): Promise<boolean> {
    const message = (error as Error).message;
    if (error instanceof StoreQueryError) {
      const count = (this.rejections.get(batch.token) ?? 0) + 1;
      this.rejections.set(batch.token, count);
      if (count >= this.opts.maxRejections) {
        const aside = new Spool(join(this.options.spoolDir, "rejected"));
        await aside.open();
        await aside.write(batch);
        if (spooled) await this.spool.remove(spooled);
        else this.dropFromMemory(batch);
        this.rejections.delete(batch.token);
        this.options.log.error(
          { table: this.options.table, rows: batch.rows, dir: aside.dir, err: message },
          `ClickHouse rejected a batch of ${batch.rows} rows for ${this.options.table} ${count} times; kept in ${aside.dir} for inspection`,
        );
        return true;
      }
    }
    if (this.engineAvailable) {
      this.engineAvailable = false;
      this.options.log.error({ table: this.options.table, err: message }, `insert into ${this.options.table} failed; spooling to disk and retrying`);
    }
    while (this.memory.length > 0) if (!(await this.moveToSpool(this.memory[0]!, false))) break;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, this.retryDelay);
    this.retryDelay = Math.min(this.opts.retryMaxMs, this.retryDelay * 2);
    return false;
  }

  private async spillOldest(): Promise<boolean> {
    if (this.memory.length === 0) this.cut();
    const batch = this.memory[0];
    return batch ? this.moveToSpool(batch, false) : false;
  }

  /**
   * Moves a batch from memory to the spool. When the spool cannot be written (a full disk, say)
   * the batch stays in memory, the failure is logged once per episode, and false tells the caller
   * to hold new rows (backpressure) rather than drop any.
   */
  private async moveToSpool(held: HeldBatch<T>, ignoreBudget: boolean): Promise<boolean> {
    const batch = this.serialise(held);
    if (!ignoreBudget && this.spool.bytes + batch.body.length > this.opts.spoolBudgetBytes) return false;
    this.dropFromMemory(batch);
    try {
      await this.spool.write(batch);
    } catch (error) {
      this.returnToMemory(batch);
      if (this.spoolError === undefined) {
        this.spoolError = (error as Error).message;
        this.options.log.error(
          { table: this.options.table, dir: this.spool.dir, memoryRows: this.memoryRowCount, err: this.spoolError },
          `cannot write the spool for ${this.options.table} at ${this.spool.dir} (${this.spoolError}); holding rows in memory, and new rows wait once memory is full`,
        );
      }
      return false;
    }
    if (this.spoolError !== undefined) {
      this.options.log.warn({ table: this.options.table, dir: this.spool.dir }, `the spool for ${this.options.table} is writable again`);
      this.spoolError = undefined;
    }
    this.wakeWaiters();
    return true;
  }

  private returnToMemory(batch: HeldBatch<T>): void {
    insertBySeq(this.memory, batch);
    this.memoryRowCount += batch.rows;
  }

  private dropFromMemory(batch: Batch | HeldBatch<T>): void {
    const index = this.memory.findIndex((held) => held === batch);
    if (index < 0) return;
    this.memory.splice(index, 1);
    this.memoryRowCount -= batch.rows;
  }

  private waitForSpace(signal?: AbortSignal): Promise<void> {
    if (this.backpressureSince === 0) {
      this.backpressureSince = Date.now();
      this.options.log.error(
        { table: this.options.table, memoryRows: this.memoryRowCount, spoolBytes: this.spool.bytes, budget: this.opts.spoolBudgetBytes },
        `writer for ${this.options.table} is full (memory, and the spool ${this.spoolError === undefined ? "budget" : `cannot be written: ${this.spoolError}`}); holding new rows until ${this.options.engine.location} or the spool takes some`,
      );
    }
    return new Promise((resolve, reject) => {
      const onAbort = () =>
        reject(new WriterFullError(`the ${this.options.table} log is full (engine unavailable and spool budget used); the record was not accepted`));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.spaceWaiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  private wakeWaiters(): void {
    if (this.spaceWaiters.length === 0) return;
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const wake of waiters) wake();
  }
}

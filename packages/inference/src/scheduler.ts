import { status } from "@grpc/grpc-js";
import type { BatchingMode } from "@vigil/model-repository";
import type { NumericArray } from "./datatype-codecs.js";
import { InferenceError, deadlineExceeded, resourceExhausted, unavailable } from "./errors.js";
import type { HostTensor } from "./tensors.js";

export interface BatchingPolicy {
  /** 0 disables batching: every request runs on its own. */
  maxBatchSize: number;
  /** See BatchingMode in @vigil/model-repository: eager never holds a request back for company an idle model does not need. */
  mode: BatchingMode;
  maxQueueDelayUs: number;
  preferredBatchSizes: number[];
  maxQueueSize: number;
  /** Executions allowed to run at the same time. */
  instances: number;
}

export interface ExecutionTiming {
  computeInputNs: number;
  computeInferNs: number;
  computeOutputNs: number;
}

/** Runs one (possibly merged) batch; returns every model output for all its rows. */
export type ExecuteBatch = (inputs: HostTensor[]) => Promise<{ outputs: HostTensor[]; timing: ExecutionTiming }>;

export interface JobResult {
  outputs: HostTensor[];
  queueNs: number;
  /** process.hrtime.bigint() when the batch left the queue. */
  dispatchedNs: bigint;
  /** Rows in the execution this request was part of. */
  executedBatchSize: number;
  /** Requests merged into that execution. */
  executedRequests: number;
  timing: ExecutionTiming;
}

interface Job {
  inputs: HostTensor[];
  rows: number;
  /** Non-batch dimensions of every input: only requests that agree here can be merged. */
  shapeKey: string;
  enqueuedAt: bigint;
  resolve: (result: JobResult) => void;
  reject: (error: InferenceError) => void;
  detach: () => void;
}

export interface SchedulerObserver {
  onExecution?: (rows: number, requests: number, timing: ExecutionTiming) => void;
}

const now = () => process.hrtime.bigint();

/** Below this, the batching window is timed by polling on setImmediate rather than by a timer. */
const SHORT_WAIT_US = 2000;

function concat(parts: HostTensor[]): HostTensor {
  const first = parts[0]!;
  const rows = parts.reduce((a, p) => a + p.shape[0]!, 0);
  const shape = [rows, ...first.shape.slice(1)];
  if (Array.isArray(first.data)) {
    return { ...first, shape, data: parts.flatMap((p) => p.data as string[]) };
  }
  const total = parts.reduce((a, p) => a + (p.data as NumericArray).length, 0);
  const Ctor = first.data.constructor as new (length: number) => NumericArray;
  const data = new Ctor(total);
  let offset = 0;
  for (const p of parts) {
    (data as { set(a: ArrayLike<number | bigint>, o: number): void }).set(p.data as ArrayLike<number | bigint>, offset);
    offset += (p.data as NumericArray).length;
  }
  return { ...first, shape, data };
}

/** Non-batch dimensions of every input: only requests that agree here can be merged. */
function shapeKeyOf(inputs: HostTensor[]): string {
  let key = "";
  for (const t of inputs) {
    for (let d = 1; d < t.shape.length; d++) key += `${t.shape[d]}x`;
    key += "|";
  }
  return key;
}

function sliceRows(tensor: HostTensor, start: number, rows: number): HostTensor {
  const total = tensor.shape[0]!;
  const perRow = total === 0 ? 0 : tensor.data.length / total;
  const from = start * perRow;
  const to = (start + rows) * perRow;
  const data = Array.isArray(tensor.data) ? tensor.data.slice(from, to) : (tensor.data as NumericArray).subarray(from, to);
  return { ...tensor, shape: [rows, ...tensor.shape.slice(1)], data };
}

/**
 * Per model version request queue with dynamic batching: requests are concatenated along the batch
 * dimension up to max_batch_size, run, and get their own rows back. In eager mode a request that
 * finds an instance free runs at once and requests that queue behind running batches leave
 * together when an instance frees; in window mode (Triton's dynamic batcher) the oldest request
 * waits up to max_queue_delay_us for company unless a preferred size fills first.
 * The queue is bounded; work whose caller gave up or whose deadline passed is never run.
 */
export class Scheduler {
  private readonly queue: Job[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** Eager mode: the queue length when the current end-of-turn look was posted; it grew if more came since. */
  private queuedAtLastLook = 0;
  private draining = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly modelLabel: string,
    private readonly policy: BatchingPolicy,
    private readonly execute: ExecuteBatch,
    private readonly observer: SchedulerObserver = {},
  ) {}

  get queueDepth(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.running;
  }

  submit(inputs: HostTensor[], signal?: AbortSignal): Promise<JobResult> {
    if (this.draining) return Promise.reject(unavailable(`model ${this.modelLabel} is shutting down; retry on another replica`));
    if (this.queue.length >= this.policy.maxQueueSize) {
      return Promise.reject(resourceExhausted(`queue of model ${this.modelLabel} is full (${this.policy.maxQueueSize} requests waiting); retry with backoff`));
    }
    if (signal?.aborted) return Promise.reject(this.abortError(signal));
    return new Promise<JobResult>((resolve, reject) => {
      const job: Job = {
        inputs,
        rows: this.policy.maxBatchSize > 0 ? inputs[0]!.shape[0]! : 1,
        shapeKey: this.policy.maxBatchSize > 0 ? shapeKeyOf(inputs) : "",
        enqueuedAt: now(),
        resolve,
        reject,
        detach: () => signal?.removeEventListener("abort", onAbort),
      };
      const onAbort = () => {
        const index = this.queue.indexOf(job);
        if (index < 0) return;
        this.queue.splice(index, 1);
        job.reject(this.abortError(signal!));
        this.notifyIdle();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push(job);
      this.arrived();
    });
  }

  /** Stops taking requests and resolves once everything queued or running has finished. */
  drain(): Promise<void> {
    this.draining = true;
    this.cancelWake();
    this.schedule();
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private abortError(signal: AbortSignal): InferenceError {
    const reason: unknown = signal.reason;
    if (reason instanceof InferenceError) return reason;
    if (reason instanceof DOMException && reason.name === "TimeoutError") {
      return deadlineExceeded(`deadline passed while waiting in the queue of model ${this.modelLabel}; the request was not run`);
    }
    return new InferenceError(status.CANCELLED, `request to model ${this.modelLabel} was cancelled by the client before it ran`);
  }

  private notifyIdle(): void {
    if (this.queue.length > 0 || this.running > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * A request joined the queue. Eager batching looks again at the end of this event-loop turn, so
   * requests read from the network in the same turn leave together; behind busy instances it
   * waits for the next one to free, which takes the queue at once.
   */
  private arrived(): void {
    if (this.policy.maxBatchSize === 0 || this.policy.mode === "window") {
      this.schedule();
      return;
    }
    if (this.running >= this.policy.instances || this.immediate) return;
    this.queuedAtLastLook = this.queue.length;
    this.immediate = setImmediate(() => this.lookAtEndOfTurn());
  }

  /** Eager mode: a burst is still arriving while every turn brings more; it is gathered up to max_queue_delay_us. */
  private lookAtEndOfTurn(): void {
    this.immediate = undefined;
    const head = this.queue[0];
    if (!head || this.running >= this.policy.instances) return;
    const stillArriving = this.queue.length > this.queuedAtLastLook;
    const waitedUs = Number(now() - head.enqueuedAt) / 1000;
    if (stillArriving && waitedUs < this.policy.maxQueueDelayUs && this.queuedRows(head) < this.policy.maxBatchSize && !this.draining) {
      this.queuedAtLastLook = this.queue.length;
      this.immediate = setImmediate(() => this.lookAtEndOfTurn());
      return;
    }
    this.schedule();
  }

  /** Rows waiting that could run with `head`, counted up to max_batch_size. */
  private queuedRows(head: Job): number {
    let rows = 0;
    for (const job of this.queue) {
      if (job.shapeKey === head.shapeKey) rows += job.rows;
      if (rows >= this.policy.maxBatchSize) break;
    }
    return rows;
  }

  private schedule(): void {
    while (this.running < this.policy.instances && this.queue.length > 0) {
      const batch = this.takeBatch();
      if (!batch) return;
      void this.run(batch);
    }
    this.notifyIdle();
  }

  /** The next batch to run, or undefined when, in window mode, the oldest request should wait a little longer for company. */
  private takeBatch(): Job[] | undefined {
    const { maxBatchSize, maxQueueDelayUs, preferredBatchSizes } = this.policy;
    if (maxBatchSize === 0) return [this.queue.shift()!];

    const head = this.queue[0]!;
    const batch: Job[] = [];
    let rows = 0;
    let preferredReached = false;
    let prefix = true;
    for (const job of this.queue) {
      if (job.shapeKey !== head.shapeKey || rows + job.rows > maxBatchSize) {
        prefix = false;
        continue;
      }
      batch.push(job);
      rows += job.rows;
      if (rows === maxBatchSize || preferredBatchSizes.includes(rows)) {
        preferredReached = true;
        break;
      }
    }
    if (this.policy.mode === "window" && !preferredReached && !this.draining) {
      const remainingUs = maxQueueDelayUs - Number(now() - head.enqueuedAt) / 1000;
      if (remainingUs > 0) {
        this.wakeAfter(remainingUs);
        return undefined;
      }
    }
    this.cancelWake();
    if (prefix) this.queue.splice(0, batch.length);
    else {
      const taken = new Set(batch);
      for (let i = this.queue.length - 1; i >= 0; i--) if (taken.has(this.queue[i]!)) this.queue.splice(i, 1);
    }
    return batch;
  }

  /**
   * Window mode. Node timers have millisecond granularity, so a 500 us window would really wait
   * 1-2 ms. Short waits re-check on setImmediate instead: each turn still polls for I/O, so
   * arriving requests join the batch, and the window closes on time at the cost of a busy event loop.
   */
  private wakeAfter(remainingUs: number): void {
    if (this.timer || this.immediate) return;
    const wake = () => {
      this.timer = undefined;
      this.immediate = undefined;
      this.schedule();
    };
    if (remainingUs < SHORT_WAIT_US) this.immediate = setImmediate(wake);
    else this.timer = setTimeout(wake, Math.ceil(remainingUs / 1000));
  }

  private cancelWake(): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private async run(batch: Job[]): Promise<void> {
    this.running++;
    const dispatchedAt = now();
    for (const job of batch) job.detach();
    try {
      const merged = batch.length === 1 ? batch[0]!.inputs : batch[0]!.inputs.map((_, i) => concat(batch.map((j) => j.inputs[i]!)));
      const { outputs, timing } = await this.execute(merged);
      const rows = batch.reduce((a, j) => a + j.rows, 0);
      this.observer.onExecution?.(rows, batch.length, timing);
      let offset = 0;
      for (const job of batch) {
        const own = batch.length === 1 ? outputs : outputs.map((o) => sliceRows(o, offset, job.rows));
        offset += job.rows;
        job.resolve({
          outputs: own,
          queueNs: Number(dispatchedAt - job.enqueuedAt),
          dispatchedNs: dispatchedAt,
          executedBatchSize: rows,
          executedRequests: batch.length,
          timing,
        });
      }
    } catch (error) {
      const failure =
        error instanceof InferenceError ? error : new InferenceError(status.INTERNAL, `model ${this.modelLabel} failed to run: ${(error as Error).message}`);
      for (const job of batch) job.reject(failure);
    } finally {
      this.running--;
      this.schedule();
    }
  }
}

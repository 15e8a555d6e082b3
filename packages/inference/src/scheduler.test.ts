import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type BatchingPolicy, type ExecuteBatch, type JobResult, Scheduler } from "./scheduler.js";
import type { HostTensor } from "./tensors.js";

const ZERO_TIMING = { computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 };
/** Longer than any test runs: a request that waits for it shows up as never dispatched. */
const A_MINUTE_US = 60_000_000;

/** One event-loop turn: what the scheduler posts with setImmediate has run once this resolves. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** A few turns: long enough for a burst's end-of-turn looks to see it has stopped growing. */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await nextTurn();
}

/**
 * A model whose executions finish only when the test says so, recording every batch it was
 * given. Its output echoes the input, so each request can check it got its own rows back.
 */
function heldModel() {
  const batches: number[][] = [];
  const pending: Array<() => void> = [];
  const execute: ExecuteBatch = (inputs) => {
    const data = inputs[0]!.data as Float32Array;
    batches.push(Array.from(data));
    return new Promise((resolve) => pending.push(() => resolve({ outputs: [{ ...inputs[0]!, name: "y" }], timing: ZERO_TIMING })));
  };
  return {
    execute,
    batches,
    running: () => pending.length,
    /** Lets the oldest running execution finish, then gives the scheduler's follow-up a turn. */
    async finishOne(): Promise<void> {
      pending.shift()!();
      await nextTurn();
    },
  };
}

function policy(overrides: Partial<BatchingPolicy> = {}): BatchingPolicy {
  return { maxBatchSize: 8, mode: "eager", maxQueueDelayUs: A_MINUTE_US, preferredBatchSizes: [], maxQueueSize: 100, instances: 1, ...overrides };
}

/** A request of `values.length` rows of width 1. */
function rows(...values: number[]): HostTensor[] {
  return [{ name: "x", datatype: "FP32", shape: [values.length, 1], data: Float32Array.from(values) }];
}

const ownRows = (result: JobResult) => Array.from(result.outputs[0]!.data as Float32Array);

describe("eager batching", () => {
  test("a lone request at an idle model runs in the same turn, however long max_queue_delay_us is", async () => {
    const model = heldModel();
    const scheduler = new Scheduler("m:1", policy(), model.execute);
    const answer = scheduler.submit(rows(1));
    await nextTurn();
    assert.deepEqual(model.batches, [[1]], "dispatched without waiting out the one-minute window");
    await model.finishOne();
    const result = await answer;
    assert.deepEqual(ownRows(result), [1]);
    assert.equal(result.executedRequests, 1);
  });

  test("requests that arrive while a batch runs leave together as the next batch the moment it ends", async () => {
    const model = heldModel();
    const scheduler = new Scheduler("m:1", policy(), model.execute);
    const first = scheduler.submit(rows(0));
    await nextTurn();
    const queued: Array<Promise<JobResult>> = [];
    for (let i = 1; i <= 6; i++) {
      queued.push(scheduler.submit(rows(i)));
      await nextTurn();
    }
    assert.equal(model.batches.length, 1, "nothing else runs while the one instance is busy");
    assert.equal(scheduler.queueDepth, 6);
    await model.finishOne();
    assert.deepEqual(model.batches, [[0], [1, 2, 3, 4, 5, 6]], "six requests, one execution");
    await model.finishOne();
    await first;
    const results = await Promise.all(queued);
    results.forEach((r, i) => {
      assert.deepEqual(ownRows(r), [i + 1]);
      assert.equal(r.executedRequests, 6);
    });
  });

  test("a queue longer than max_batch_size leaves in full batches, one per free instance", async () => {
    const model = heldModel();
    const scheduler = new Scheduler("m:1", policy({ maxBatchSize: 4 }), model.execute);
    void scheduler.submit(rows(0));
    await nextTurn();
    const queued = Array.from({ length: 10 }, (_, i) => scheduler.submit(rows(i + 1)));
    await model.finishOne();
    await model.finishOne();
    await model.finishOne();
    await model.finishOne();
    assert.deepEqual(
      model.batches.map((b) => b.length),
      [1, 4, 4, 2],
    );
    assert.equal((await Promise.all(queued)).length, 10);
  });

  test("a burst read in one turn at an idle model runs as one batch", async () => {
    const model = heldModel();
    const scheduler = new Scheduler("m:1", policy(), model.execute);
    const burst = [scheduler.submit(rows(1)), scheduler.submit(rows(2, 3)), scheduler.submit(rows(4))];
    await settle();
    assert.deepEqual(model.batches, [[1, 2, 3, 4]]);
    await model.finishOne();
    assert.deepEqual((await Promise.all(burst)).map(ownRows), [[1], [2, 3], [4]]);
  });

  test("a burst still arriving is gathered turn by turn until it stops or fills max_batch_size", async () => {
    for (const maxBatchSize of [3, 8]) {
      const model = heldModel();
      const scheduler = new Scheduler("m:1", policy({ maxBatchSize }), model.execute);
      const answers = [scheduler.submit(rows(1)), scheduler.submit(rows(2))];
      // Lands after the first end-of-turn look has seen the burst growing, before the second.
      setImmediate(() => answers.push(scheduler.submit(rows(3))));
      await settle();
      assert.deepEqual(model.batches, [[1, 2, 3]], `max_batch_size ${maxBatchSize}`);
      await model.finishOne();
      assert.equal((await Promise.all(answers)).length, 3);
    }
  });

  test("with two instances, a second request runs beside the first instead of queueing", async () => {
    const model = heldModel();
    const scheduler = new Scheduler("m:1", policy({ instances: 2 }), model.execute);
    void scheduler.submit(rows(1));
    await nextTurn();
    void scheduler.submit(rows(2));
    await nextTurn();
    assert.equal(model.running(), 2);
    void scheduler.submit(rows(3));
    void scheduler.submit(rows(4));
    await nextTurn();
    assert.equal(model.batches.length, 2, "both instances busy: the rest wait");
    await model.finishOne();
    assert.deepEqual(model.batches.at(-1), [3, 4]);
  });

  test("requests whose other dimensions differ are never merged", async () => {
    const model = heldModel();
    const scheduler = new Scheduler("m:1", policy(), model.execute);
    const wide: HostTensor[] = [{ name: "x", datatype: "FP32", shape: [1, 2], data: Float32Array.from([7, 8]) }];
    void scheduler.submit(rows(1));
    void scheduler.submit(wide);
    void scheduler.submit(rows(2));
    await settle();
    assert.deepEqual(model.batches, [[1, 2]]);
    await model.finishOne();
    assert.deepEqual(model.batches, [
      [1, 2],
      [7, 8],
    ]);
  });
});

describe("window batching", () => {
  test("a lone request waits out the window; draining dispatches it at once", async () => {
    const model = heldModel();
    const scheduler = new Scheduler("m:1", policy({ mode: "window" }), model.execute);
    const answer = scheduler.submit(rows(1));
    for (let i = 0; i < 5; i++) await nextTurn();
    assert.equal(model.batches.length, 0, "still inside its one-minute window");
    const drained = scheduler.drain();
    assert.deepEqual(model.batches, [[1]]);
    await model.finishOne();
    await answer;
    await drained;
  });

  test("a preferred batch size dispatches without waiting for the window", async () => {
    const model = heldModel();
    const scheduler = new Scheduler("m:1", policy({ mode: "window", preferredBatchSizes: [3] }), model.execute);
    void scheduler.submit(rows(1));
    void scheduler.submit(rows(2));
    assert.equal(model.batches.length, 0);
    void scheduler.submit(rows(3));
    assert.deepEqual(model.batches, [[1, 2, 3]]);
    await model.finishOne();
  });
});

describe("queue bounds", () => {
  test("a full queue refuses with RESOURCE_EXHAUSTED, and a cancelled request never runs", async () => {
    const model = heldModel();
    const scheduler = new Scheduler("m:1", policy({ maxQueueSize: 2 }), model.execute);
    void scheduler.submit(rows(0));
    await nextTurn();
    const cancel = new AbortController();
    const cancelled = scheduler.submit(rows(1), cancel.signal);
    const kept = scheduler.submit(rows(2));
    await assert.rejects(scheduler.submit(rows(3)), /queue of model m:1 is full \(2 requests waiting\)/);
    cancel.abort();
    await assert.rejects(cancelled, /cancelled by the client before it ran/);
    await model.finishOne();
    assert.deepEqual(model.batches, [[0], [2]]);
    await model.finishOne();
    await kept;
  });
});

import type { LabelRecord, PredictionRecord, RecordSink, SpanRecord } from "@vigil/store";
import { WriterFullError } from "@vigil/store";
import type { RemoteLog } from "./hooks.js";
import type { IpcPeer, Methods } from "./ipc.js";
import type { PrimaryMethods, RecordEntry } from "./protocol.js";

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * A worker's prediction log when the primary owns the store. Records appended in one event-loop
 * turn travel as one message and are acknowledged by one reply, sent once the primary's writers
 * hold every one of them; only then does an append resolve, so a request is answered only after
 * its rows are safe from this worker's death. One message per turn keeps the cost per request
 * to a share of one round trip.
 */
export class ForwardedLog implements RemoteLog {
  readonly predictions: RecordSink<PredictionRecord> = { append: (record, waitMs) => this.enqueue({ table: "predictions", record, waitMs }) };
  readonly labels: RecordSink<LabelRecord> = { append: (record, waitMs) => this.enqueue({ table: "labels", record, waitMs }) };
  readonly spans: RecordSink<SpanRecord> = { append: (record, waitMs) => this.enqueue({ table: "spans", record, waitMs }) };
  private entries: RecordEntry[] = [];
  private waiters: Waiter[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly primary: IpcPeer<Methods, PrimaryMethods>) {}

  modelsOf(requestIds: string[]): Promise<Map<string, string[]>> {
    return this.primary.call("modelsOf", { requestIds });
  }

  /** Resolves once every record appended so far has been acknowledged or refused. */
  async drain(): Promise<void> {
    while (this.entries.length > 0 || this.inFlight.size > 0) {
      if (this.entries.length > 0) this.send();
      await Promise.allSettled([...this.inFlight]);
    }
  }

  private enqueue(entry: RecordEntry): Promise<void> {
    if (this.entries.length === 0) setImmediate(() => this.send());
    this.entries.push(entry);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private send(): void {
    if (this.entries.length === 0) return;
    const entries = this.entries;
    const waiters = this.waiters;
    this.entries = [];
    this.waiters = [];
    const sent = this.primary.call("append", { entries }).then(
      ({ refused }) => {
        const why = new Map(refused.map((r) => [r.index, r.message]));
        waiters.forEach((waiter, i) => {
          const message = why.get(i);
          if (message === undefined) waiter.resolve();
          else waiter.reject(new WriterFullError(message));
        });
      },
      (error: Error) => {
        // Refused like a full log: the request is not answered, so nothing answered goes unlogged.
        const refusal = new WriterFullError(`the process that owns the prediction log did not take the record (${error.message})`);
        for (const waiter of waiters) waiter.reject(refusal);
      },
    );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }
}

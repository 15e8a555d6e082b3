import type { Metadata, ServiceError } from "@grpc/grpc-js";
import type { FeedbackClient, Label } from "@vigil/proto";

interface DueLabel extends Label {
  dueAt: number;
}

/**
 * Sends ground truth the way it arrives in production: some time after the prediction, for
 * a share of requests, in batches. Chosen requests are a deterministic hash of the request
 * number, so a run labels the same requests every time.
 */
export class LabelSender {
  private readonly queue: DueLabel[] = [];
  private readonly timer: NodeJS.Timeout;
  private inFlight: Promise<void> = Promise.resolve();
  sent = 0;
  failed = 0;

  constructor(
    private readonly client: FeedbackClient,
    private readonly metadata: Metadata,
    private readonly model: string,
    private readonly fraction: number,
    private readonly delayMs: number,
  ) {
    this.timer = setInterval(() => this.sendDue(Date.now()), Math.max(50, Math.min(500, delayMs / 4)));
  }

  /** Knuth's multiplicative hash of the request number, compared with the fraction. */
  chosen(index: number): boolean {
    return (Math.imul(index + 1, 2654435761) >>> 0) / 2 ** 32 < this.fraction;
  }

  add(index: number, requestId: string, truths: string[]): void {
    if (!this.chosen(index)) return;
    const dueAt = Date.now() + this.delayMs;
    for (const [rowIndex, label] of truths.entries()) this.queue.push({ requestId, rowIndex, label, dueAt });
  }

  /** Waits until every queued label is due and sent. */
  async finish(): Promise<void> {
    const last = this.queue.at(-1)?.dueAt ?? 0;
    const wait = last - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    clearInterval(this.timer);
    this.sendDue(Infinity);
    await this.inFlight;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sendDue(now: number): void {
    let count = 0;
    while (count < this.queue.length && this.queue[count]!.dueAt <= now) count++;
    if (count === 0) return;
    const batch = this.queue.splice(0, count).map(({ requestId, rowIndex, label }) => ({ requestId, rowIndex, label }));
    this.inFlight = this.inFlight.then(
      () =>
        new Promise<void>((resolve) => {
          this.client.submitLabels({ modelName: this.model, labels: batch, source: "loadgen" }, this.metadata, (error: ServiceError | null) => {
            if (error) this.failed += batch.length;
            else this.sent += batch.length;
            resolve();
          });
        }),
    );
  }
}

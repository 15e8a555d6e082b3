import { type StoreEngine, insertLeaseClaim, readLeaseTerm } from "@vigil/store";

export interface LeaseOptions {
  /** Which lease: every process asking for the same name competes for it. */
  name: string;
  /** This process, as the lease table records it. */
  holder: string;
  /** How long a claim or renewal lasts; the holder renews every third of it. */
  ttlMs: number;
  /** How long a candidate waits after its claim before reading who won; also the longest an insert may take to count. */
  settleMs: number;
  /** Called when this process gains the lease; `term` numbers the tenure. */
  onAcquire: (term: number) => Promise<void>;
  /** Called when it loses or gives up the lease; it must stop everything onAcquire started. */
  onRelease: () => Promise<void>;
  onError: (error: Error) => void;
}

/**
 * Keeps trying for a lease in ClickHouse (tables/monitor-lease.ts has the protocol and its
 * correctness argument) and runs onAcquire/onRelease as it is gained and lost. While another
 * process holds it, this one checks every third of the ttl, so it takes over at most
 * ttl + ttl/3 + settle (plus two round trips) after the holder's last renewal.
 */
export class LeaderLease {
  private timer: NodeJS.Timeout | undefined;
  private stepDownTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** The term and first claim time while this process holds the lease. */
  private held: { term: number; claimedAtMs: number } | undefined;
  /** Serializes acquire/release callbacks, so a release never overtakes the acquire it undoes. */
  private transitions: Promise<void> = Promise.resolve();

  constructor(
    private readonly engine: StoreEngine,
    private readonly options: LeaseOptions,
  ) {
    if (options.settleMs * 3 >= options.ttlMs)
      throw new Error(`the lease ttl (${options.ttlMs} ms) must be more than three times the settle time (${options.settleMs} ms)`);
  }

  get leader(): boolean {
    return this.held !== undefined;
  }

  start(): void {
    if (this.stopped) return;
    const tick = () => {
      if (this.running || this.stopped) return;
      this.running = this.step()
        .catch((error: unknown) => this.options.onError(error as Error))
        .finally(() => {
          this.running = undefined;
        });
    };
    tick();
    this.timer = setInterval(tick, Math.floor(this.options.ttlMs / 3));
  }

  /** Stops competing; a holder ends its tenure and releases the lease so a standby takes over at its next check. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    const held = this.held;
    if (held) {
      this.stepDown();
      await this.transitions;
      // A later term with an already expired claim: every reader sees the lease vacant at once.
      await insertLeaseClaim(this.engine, { name: this.options.name, term: held.term + 1, holder: "", ttlMs: 0 }).catch((error: unknown) =>
        this.options.onError(error as Error),
      );
    }
    await this.transitions;
  }

  private async step(): Promise<void> {
    const { name, holder, ttlMs, settleMs } = this.options;
    const current = await readLeaseTerm(this.engine, name);
    if (this.held) {
      if (current?.term !== this.held.term || current.holder.holder !== holder) return this.stepDown();
      const sentAt = performance.now();
      await insertLeaseClaim(this.engine, { name, term: this.held.term, holder, ttlMs, claimedAtMs: this.held.claimedAtMs });
      if (this.held) this.holdUntil(sentAt + ttlMs - settleMs);
      return;
    }
    if (current && current.holder.expiresAtMs > current.serverNowMs) return;
    const term = (current?.term ?? 0) + 1;
    const sentAt = performance.now();
    await insertLeaseClaim(this.engine, { name, term, holder, ttlMs });
    const insertMs = performance.now() - sentAt;
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const decided = await readLeaseTerm(this.engine, name);
    // A slow insert may have become visible after a later claimant read: abstain rather than risk two holders.
    if (this.stopped || insertMs >= settleMs || decided?.term !== term || decided.holder.holder !== holder) return;
    this.held = { term, claimedAtMs: decided.holder.claimedAtMs };
    this.holdUntil(sentAt + ttlMs - settleMs);
    this.transition(() => this.options.onAcquire(term));
  }

  /** Acts as holder until `deadline` (performance.now() time) unless a renewal moves it on. */
  private holdUntil(deadline: number): void {
    clearTimeout(this.stepDownTimer);
    this.stepDownTimer = setTimeout(() => this.stepDown(), Math.max(0, deadline - performance.now()));
  }

  private stepDown(): void {
    clearTimeout(this.stepDownTimer);
    if (!this.held) return;
    this.held = undefined;
    this.transition(() => this.options.onRelease());
  }

  private transition(run: () => Promise<void>): void {
    this.transitions = this.transitions.then(run).catch((error: unknown) => this.options.onError(error as Error));
  }
}

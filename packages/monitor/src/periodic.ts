/**
 * Runs a task every `everyMs`, skipping a beat while the previous run is still going, so a
 * slow run never stacks up behind itself. Errors go to `onError`; stop() waits for a run in
 * progress.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly task: () => Promise<unknown>,
    private readonly everyMs: number,
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      if (this.running) return;
      this.running = this.task()
        .then(
          () => undefined,
          (error: unknown) => this.onError(error as Error),
        )
        .finally(() => {
          this.running = undefined;
        });
    }, this.everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

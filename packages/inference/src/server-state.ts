import { EventEmitter } from "node:events";

/** Process-level serving state that health, readiness and shutdown share. */
export class ServerState extends EventEmitter<{ change: [] }> {
  private drainingFlag = false;
  /** Closers for long-lived streams, ended when the server drains. */
  readonly openStreams = new Set<() => void>();

  get draining(): boolean {
    return this.drainingFlag;
  }

  startDraining(): void {
    if (this.drainingFlag) return;
    this.drainingFlag = true;
    this.emit("change");
  }

  closeStreams(): void {
    for (const close of [...this.openStreams]) close();
  }
}

import { InferenceError } from "../errors.js";

/** A method one side of the pool answers: what it is sent and what it replies. */
export interface Method<Args, Result> {
  args: Args;
  result: Result;
}
export type Methods = Record<string, Method<unknown, unknown>>;

/** How a failure crosses the channel: the gRPC status when it had one, so the caller can answer with it. */
interface WireError {
  code?: number;
  message: string;
}

type Envelope =
  | { vigil: "call"; id: number; method: string; args: unknown }
  | { vigil: "reply"; id: number; result: unknown }
  | { vigil: "reply"; id: number; error: WireError };

const isEnvelope = (message: unknown): message is Envelope =>
  typeof message === "object" && message !== null && ((message as { vigil?: unknown }).vigil === "call" || (message as { vigil?: unknown }).vigil === "reply");

/** The error a reply carried, rebuilt: an InferenceError keeps its status. */
function revive(error: WireError): Error {
  return error.code === undefined ? new Error(error.message) : new InferenceError(error.code, error.message);
}

/** The channel to the other process went away, or it did not answer in time. */
export class PeerGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PeerGoneError";
  }
}

/**
 * Calls between the primary and one worker over the cluster's IPC channel: each side answers the
 * methods it handles (`Local`) and calls the other's (`Remote`). Messages are tagged, so the
 * channel's other traffic (prom-client's, cluster's own) passes by.
 */
export class IpcPeer<Local extends Methods, Remote extends Methods> {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer?: NodeJS.Timeout }>();
  private readonly handlers = new Map<string, (args: unknown) => Promise<unknown>>();
  private gone: string | undefined;

  constructor(private readonly send: (message: Envelope) => void) {}

  handle<M extends keyof Local & string>(method: M, handler: (args: Local[M]["args"]) => Promise<Local[M]["result"]> | Local[M]["result"]): void {
    this.handlers.set(method, async (args) => handler(args as Local[M]["args"]));
  }

  /** Calls `method` on the other side; rejects with PeerGoneError when it goes away or `timeoutMs` passes. */
  call<M extends keyof Remote & string>(method: M, args: Remote[M]["args"], timeoutMs?: number): Promise<Remote[M]["result"]> {
    if (this.gone !== undefined) return Promise.reject(new PeerGoneError(this.gone));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const entry: { resolve: (value: unknown) => void; reject: (error: Error) => void; timer?: NodeJS.Timeout } = {
        resolve: (value) => resolve(value as Remote[M]["result"]),
        reject,
      };
      if (timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          this.waiting.delete(id);
          reject(new PeerGoneError(`no answer to ${method} within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.waiting.set(id, entry);
      try {
        this.send({ vigil: "call", id, method, args });
      } catch (error) {
        this.settle(id, (waiter) => waiter.reject(new PeerGoneError(`cannot send ${method}: ${(error as Error).message}`)));
      }
    });
  }

  /** Takes one message off the channel; false when it is not this peer's. */
  receive(message: unknown): boolean {
    if (!isEnvelope(message)) return false;
    if (message.vigil === "reply") {
      this.settle(message.id, (waiter) => ("error" in message ? waiter.reject(revive(message.error)) : waiter.resolve(message.result)));
      return true;
    }
    const { id, method, args } = message;
    const handler = this.handlers.get(method);
    const answer = handler ? handler(args) : Promise.reject(new Error(`no handler for ${method}`));
    answer.then(
      (result) => this.reply({ vigil: "reply", id, result }),
      (error: unknown) => {
        const failure = error as Error;
        this.reply({ vigil: "reply", id, error: { code: failure instanceof InferenceError ? failure.code : undefined, message: failure.message } });
      },
    );
    return true;
  }

  /** The other side is gone: every call waiting for it fails, and so will later ones. */
  close(reason: string): void {
    this.gone = reason;
    for (const id of [...this.waiting.keys()]) this.settle(id, (waiter) => waiter.reject(new PeerGoneError(reason)));
  }

  private reply(message: Envelope): void {
    // A peer that went away while its call was handled no longer needs the answer.
    if (this.gone !== undefined) return;
    try {
      this.send(message);
    } catch {
      this.close("the channel closed");
    }
  }

  private settle(id: number, how: (waiter: { resolve: (value: unknown) => void; reject: (error: Error) => void }) => void): void {
    const waiter = this.waiting.get(id);
    if (!waiter) return;
    this.waiting.delete(id);
    clearTimeout(waiter.timer);
    how(waiter);
  }
}

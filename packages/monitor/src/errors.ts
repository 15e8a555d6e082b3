import { StoreUnavailableError } from "@vigil/store";

/**
 * A failure of a named kind. The kind decides the HTTP status the monitor API answers with, so
 * call sites throw the kind and never pick a status; the message is for a person to act on.
 */
export abstract class MonitorError extends Error {
  abstract readonly status: number;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A request (query, path, body or a value in it such as a matcher) the monitor cannot act on. */
export class InvalidRequestError extends MonitorError {
  readonly status = 400;
}

/** Missing or unknown credentials. */
export class UnauthorizedError extends MonitorError {
  readonly status = 401;
}

/** What was asked for does not exist, or not yet: a model, SLO, silence, trace, prediction or reference profile. */
export class NotFoundError extends MonitorError {
  readonly status = 404;
}

/** The data to compute from is not there yet, such as a reference window without OK predictions; it may be later. */
export class NoDataError extends MonitorError {
  readonly status = 404;
}

/** A config file, SLO, model config or reference file the monitor cannot work with; editing it fixes this, retrying does not. */
export class ConfigError extends MonitorError {
  readonly status = 500;
}

/** A bug: a state the code should never reach, or a failure of no named kind. */
export class InternalError extends MonitorError {
  readonly status = 500;
}

/** A system the monitor sends to (Alertmanager) refused or failed what it was sent. */
export class UpstreamError extends MonitorError {
  readonly status = 502;
}

/** The store could not be reached; the same request may succeed once it is back. */
export class UnavailableError extends MonitorError {
  readonly status = 503;
}

/**
 * Any thrown value as a MonitorError. The store names its own failures without knowing about
 * HTTP; an outage becomes UnavailableError, and anything unnamed (a refused statement
 * included, which is a bug in Vigil's SQL) becomes InternalError with its message kept.
 */
export function asMonitorError(error: unknown): MonitorError {
  if (error instanceof MonitorError) return error;
  if (error instanceof StoreUnavailableError) return new UnavailableError(error.message, { cause: error });
  return new InternalError(error instanceof Error ? error.message : String(error), { cause: error });
}

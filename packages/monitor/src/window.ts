import { type SegmentFilter, segmentParams } from "@vigil/store";
import { ConfigError } from "./errors.js";

/** A half-open time window [fromUs, toUs) in microseconds since the epoch. */
export interface Window {
  fromUs: number;
  toUs: number;
}

/**
 * Windows of `sizeUs` every `stepUs` covering [fromUs, toUs): tumbling when step equals size,
 * sliding when it is smaller. The last window ends at or before `toUs`.
 */
export function windows(fromUs: number, toUs: number, sizeUs: number, stepUs = sizeUs): Window[] {
  if (!(sizeUs > 0) || !(stepUs > 0)) throw new ConfigError(`window size and step must be positive (size ${sizeUs} us, step ${stepUs} us)`);
  const out: Window[] = [];
  for (let start = fromUs; start + sizeUs <= toUs; start += stepUs) out.push({ fromUs: start, toUs: start + sizeUs });
  return out;
}

/** The bound parameters every per-window query of a model takes: model, version ('' for all), from and to in microseconds, and a segment's when there is one. */
export function windowParams(query: { model: string; version?: string; window: Window; segment?: SegmentFilter }): Record<string, unknown> {
  return {
    model: query.model,
    version: query.version ?? "",
    from: Math.floor(query.window.fromUs),
    to: Math.floor(query.window.toUs),
    ...(query.segment ? segmentParams(query.segment) : {}),
  };
}

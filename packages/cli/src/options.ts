import { InvalidArgumentError } from "commander";

export const integer = (name: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${value}"`);
  return n;
};

export const number = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, got "${value}"`);
  return n;
};

/** A port, or "off". (Commander turns a parser's null into "", so "off" stays a string.) */
export const portOrOff = (name: string, min: number) => (value: string) => (value === "off" ? ("off" as const) : integer(name, min)(value));

/** Port of the monitor HTTP API; Triton uses 8000-8002, so the next one. */
export const DEFAULT_API_PORT = 8003;

export const apiPort = portOrOff("api-port", 0);

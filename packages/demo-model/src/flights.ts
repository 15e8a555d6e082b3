import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { seededRandom } from "@vigil/onnx";

/** One flight as vega-datasets ships it: departure time, arrival delay in minutes, miles, airports. */
export interface FlightRecord {
  date: string;
  delay: number;
  distance: number;
  origin: string;
  destination: string;
}

export const DELAY_THRESHOLD_MINUTES = 15;
export const CLASS_LABELS = ["on_time", "delayed"] as const;
export const FEATURE_NAMES = ["hour", "weekday", "distance", "origin", "destination"] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

/** Index 0 of every airport vocabulary: airports too rare in training to have their own weight. */
export const OTHER_AIRPORT = "other";

export interface AirportVocabulary {
  origin: string[];
  destination: string[];
}

export function flightsDataPath(file = "flights-20k.json"): string {
  // vega-datasets exports only its JS entry; the data folder sits beside build/ in the package.
  const entry = createRequire(import.meta.url).resolve("vega-datasets");
  return join(dirname(entry), "..", "data", file);
}

export function loadFlights(file?: string): FlightRecord[] {
  const rows: unknown = JSON.parse(readFileSync(flightsDataPath(file), "utf8"));
  if (!Array.isArray(rows)) throw new Error(`flights data in ${flightsDataPath(file)} is not an array`);
  return rows as FlightRecord[];
}

interface DepartureTime {
  month: number;
  hour: number;
  /** ISO weekday starting at 0 for Monday. */
  weekday: number;
}

export function departureTime(record: FlightRecord): DepartureTime {
  const match = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2})$/.exec(record.date);
  if (!match) throw new Error(`flight date "${record.date}" is not "YYYY/MM/DD HH:MM"`);
  const [, y, mo, d, h] = match.map(Number) as [number, number, number, number, number];
  const weekday = (new Date(Date.UTC(y, mo - 1, d)).getUTCDay() + 6) % 7;
  return { month: mo, hour: h, weekday };
}

export function isDelayed(record: FlightRecord): boolean {
  return record.delay > DELAY_THRESHOLD_MINUTES;
}

/** The time-ordered split: January and February train the model, March is held out. */
export function splitByMonth(records: FlightRecord[]): { train: FlightRecord[]; heldOut: FlightRecord[] } {
  const train: FlightRecord[] = [];
  const heldOut: FlightRecord[] = [];
  for (const r of records) (departureTime(r).month <= 2 ? train : heldOut).push(r);
  return { train, heldOut };
}

/** Airports seen at least `minCount` times in a column get their own index; the rest share index 0. */
export function buildVocabulary(records: FlightRecord[], minCount = 20): AirportVocabulary {
  const column = (key: "origin" | "destination"): string[] => {
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r[key], (counts.get(r[key]) ?? 0) + 1);
    const frequent = [...counts]
      .filter(([, c]) => c >= minCount)
      .map(([a]) => a)
      .sort();
    return [OTHER_AIRPORT, ...frequent];
  };
  return { origin: column("origin"), destination: column("destination") };
}

export type FlightEncoder = (record: FlightRecord) => number[];

/** Makes the function that turns a flight into the model's input row, in FEATURE_NAMES order. */
export function createFlightEncoder(vocabulary: AirportVocabulary): FlightEncoder {
  const lookup = (list: string[]) => new Map(list.map((airport, i) => [airport, i]));
  const origins = lookup(vocabulary.origin);
  const destinations = lookup(vocabulary.destination);
  return (record) => {
    const { hour, weekday } = departureTime(record);
    return [hour, weekday, record.distance, origins.get(record.origin) ?? 0, destinations.get(record.destination) ?? 0];
  };
}

/** The records in a seeded random order (Fisher-Yates), so any stretch of them is a fair sample of all. */
export function shuffled<T>(records: readonly T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...records];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

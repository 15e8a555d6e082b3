import type { StoreEngine } from "@vigil/store";
import { type Sample, type Scope, type ServiceMetric, perMinute } from "./signals.js";

/** Scale that makes the median absolute deviation estimate a normal distribution's standard deviation: 1 / Φ⁻¹(0.75). */
const MAD_SCALE = 0.6744897501960817;
/** The same for the mean absolute deviation: √(π / 2). */
const MEAN_AD_SCALE = 1.2533141373155001;

function median(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Iglewicz and Hoaglin's modified z-score of `x` against a baseline: 0.6745 (x − median) / MAD.
 * Median and MAD ignore the outliers a mean and standard deviation would chase. When more than
 * half the baseline is one value (MAD = 0) the mean absolute deviation stands in, scaled by
 * √(π/2); when that is 0 too, x scores 0 if it equals the median and ±∞ otherwise.
 */
export function robustZScore(baseline: number[], x: number): number {
  const sorted = [...baseline].sort((a, b) => a - b);
  const m = median(sorted);
  const deviations = sorted.map((v) => Math.abs(v - m));
  const mad = median([...deviations].sort((a, b) => a - b));
  if (mad > 0) return (MAD_SCALE * (x - m)) / mad;
  const meanAd = deviations.reduce((a, b) => a + b, 0) / deviations.length;
  if (meanAd > 0) return (x - m) / (MEAN_AD_SCALE * meanAd);
  return x === m ? 0 : x > m ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}

export interface AnomalyCheck {
  metric: ServiceMetric;
  scope: Scope;
  baselineMs: number;
  /** Fewest baseline minutes with a value before a minute is judged. */
  minPoints: number;
}

export interface AnomalySample extends Sample {
  /** The judged minute's value and the baseline's median. */
  current: number;
  median: number;
  minute: number;
}

/**
 * The last complete minute of a serving metric scored against the minutes before it (the
 * baseline). Throughput counts a minute without requests as 0, so a traffic drop is seen;
 * latency and error rate skip such minutes.
 */
export async function anomalySamples(engine: StoreEngine, check: AnomalyCheck, nowMs: number): Promise<AnomalySample[]> {
  const lastMinute = Math.floor(nowMs / 60_000) * 60_000 - 60_000;
  const series = await perMinute(engine, check.metric, check.scope, nowMs, check.baselineMs + 60_000);
  const out: AnomalySample[] = [];
  for (const { labels, minutes } of series) {
    const baseline: number[] = [];
    for (let m = lastMinute - check.baselineMs; m < lastMinute; m += 60_000) {
      const v = minutes.get(m) ?? (check.metric === "throughput_rps" ? 0 : undefined);
      if (v !== undefined) baseline.push(v);
    }
    const current = minutes.get(lastMinute) ?? (check.metric === "throughput_rps" ? 0 : undefined);
    if (current === undefined || baseline.length < check.minPoints) continue;
    const sorted = [...baseline].sort((a, b) => a - b);
    out.push({ labels, value: robustZScore(baseline, current), current, median: median(sorted), minute: lastMinute });
  }
  return out;
}

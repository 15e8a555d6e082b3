export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Median, min and max of repeated samples of one figure: what a table cell reports when a benchmark repeats it. */
export function spread(values: number[]): Spread {
  if (values.length === 0) throw new Error("no samples");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

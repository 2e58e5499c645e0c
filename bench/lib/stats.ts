export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile: with fewer than 100 values, p99 is the maximum. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export interface Summary {
  samples: number;
  medianMs: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Median, p90, p99 and max of a list of durations in milliseconds. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { samples: 0, medianMs: Number.NaN, p90Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN };
  return { samples: values.length, medianMs: median(values), p90Ms: percentile(values, 90), p99Ms: percentile(values, 99), maxMs: Math.max(...values) };
}

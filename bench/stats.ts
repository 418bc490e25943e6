/** The statistics the benchmarks report: order statistics and a bootstrap interval for a ratio. */
import { prng } from "../node-firmware/mesh/index.js";

/** The value at rank ⌊p/100 · n⌋ of numbers sorted ascending (p99 of 1000 is the 991st). */
export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** The lower median: always one of the values. */
export const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? NaN;

function resample<T>(items: readonly T[], random: () => number): T[] {
  return items.map(() => items[Math.floor(random() * items.length)] as T);
}

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/**
 * A statistic over runs, with a percentile-bootstrap interval that resamples whole runs. Runs,
 * not cycles, are the unit: cycles of one run share that run's machine state, so resampling
 * cycles would claim a precision the runs do not have. A run holding every mode measured side by
 * side keeps them paired, so the machine's drift between runs drops out of a ratio of modes.
 */
export function bootstrapInterval<T>(
  runs: readonly T[],
  statistic: (runs: readonly T[]) => number,
  { confidence = 0.9, resamples = 2000, seed = 1 } = {},
): Interval {
  const random = prng(seed); // seeded: a report's interval can be reproduced from its data
  const draws = Array.from({ length: resamples }, () => statistic(resample(runs, random))).sort((x, y) => x - y);
  const tail = (1 - confidence) / 2;
  return { estimate: statistic(runs), low: percentile(draws, tail * 100), high: percentile(draws, (1 - tail) * 100) };
}

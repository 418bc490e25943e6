import { describe, expect, it } from "vitest";
import { bootstrapInterval, median, percentile, seededRandom } from "../../bench/stats.js";

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const ratioOfMeans = (a: readonly number[], b: readonly number[]) => mean(b) / mean(a) - 1;

describe("order statistics", () => {
  it("takes the value at rank ⌊p/100 · n⌋", () => {
    const oneToThousand = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(oneToThousand, 99)).toBe(991);
    expect(percentile(oneToThousand, 50)).toBe(501);
    expect(percentile(oneToThousand, 100)).toBe(1000);
    expect(percentile([], 50)).toBeNaN();
  });

  it("takes the lower median, one of the values", () => {
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(median([5, 1, 3])).toBe(3);
  });
});

describe("bootstrapInterval", () => {
  it("is reproducible from its seed and stays in [0, 1)", () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const draws = Array.from({ length: 1000 }, () => a());
    expect(draws).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    expect(new Set(draws).size).toBe(1000);
  });

  it("collapses to the estimate when every run agrees", () => {
    const i = bootstrapInterval([10, 10, 10], [11, 11, 11], ratioOfMeans);
    for (const bound of [i.estimate, i.low, i.high]) expect(bound).toBeCloseTo(0.1, 12);
  });

  it("brackets a real 10 % difference and excludes none", () => {
    const random = seededRandom(3);
    const runs = (level: number) => Array.from({ length: 8 }, () => level * (1 + (random() - 0.5) * 0.04));
    const i = bootstrapInterval(runs(100), runs(110), ratioOfMeans);
    expect(i.low).toBeLessThan(0.1);
    expect(i.high).toBeGreaterThan(0.1);
    expect(i.low).toBeGreaterThan(0.05);
  });

  it("widens with the spread between runs", () => {
    const random = seededRandom(5);
    const runs = (spread: number) => Array.from({ length: 8 }, () => 100 * (1 + (random() - 0.5) * spread));
    const width = (spread: number) => {
      const i = bootstrapInterval(runs(spread), runs(spread), ratioOfMeans);
      return i.high - i.low;
    };
    expect(width(0.3)).toBeGreaterThan(3 * width(0.02));
  });
});

import { describe, expect, it } from "vitest";
import { bootstrapInterval, median, percentile } from "../../bench/stats.js";
import { prng } from "../../node-firmware/mesh/simulated/prng.js";

interface Run {
  off: number;
  on: number;
}
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const overhead = (runs: readonly Run[]) => mean(runs.map((r) => r.on)) / mean(runs.map((r) => r.off)) - 1;

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
  it("is reproducible from its seed", () => {
    const draw = (seed: number) =>
      bootstrapInterval(
        [1, 5, 2, 8, 3].map((x) => ({ off: 10, on: 10 + x })),
        overhead,
        { seed },
      );
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it("collapses to the estimate when every run agrees", () => {
    const i = bootstrapInterval(
      [1, 2, 3].map(() => ({ off: 10, on: 11 })),
      overhead,
    );
    for (const bound of [i.estimate, i.low, i.high]) expect(bound).toBeCloseTo(0.1, 12);
  });

  it("puts a real 10 % difference inside a narrow interval that excludes none", () => {
    const random = prng(3);
    const noisy = (level: number) => level * (1 + (random() - 0.5) * 0.04);
    const i = bootstrapInterval(
      Array.from({ length: 8 }, () => ({ off: noisy(100), on: noisy(110) })),
      overhead,
    );
    expect(i.estimate).toBeCloseTo(0.1, 1);
    expect(i.low).toBeLessThan(i.estimate);
    expect(i.high).toBeGreaterThan(i.estimate);
    expect(i.low).toBeGreaterThan(0.05);
    expect(i.high).toBeLessThan(0.15);
  });

  it("widens with the spread between runs, and pairing takes out what the modes of a run share", () => {
    const random = prng(5);
    const width = (runs: Run[]) => {
      const i = bootstrapInterval(runs, overhead);
      return i.high - i.low;
    };
    const unpaired = (spread: number) =>
      Array.from({ length: 8 }, () => ({
        off: 100 * (1 + (random() - 0.5) * spread),
        on: 100 * (1 + (random() - 0.5) * spread),
      }));
    expect(width(unpaired(0.3))).toBeGreaterThan(3 * width(unpaired(0.02)));
    const paired = Array.from({ length: 8 }, () => {
      const machine = 1 + (random() - 0.5) * 0.3; // a slow or fast spell hits both modes of the run
      return { off: 100 * machine * (1 + (random() - 0.5) * 0.02), on: 100 * machine * (1 + (random() - 0.5) * 0.02) };
    });
    expect(width(paired)).toBeLessThan(width(unpaired(0.3)) / 3);
  });
});

import { describe, expect, it } from "vitest";
import { judge, overhead, type Figure, type Unit } from "../../bench/judge.js";

const mean: Figure<number> = {
  label: "cpu",
  unit: "ms",
  of: (xs) => xs.reduce((a, b) => a + b, 0) / xs.length,
  worseWhen: "higher",
};

/** Runs with every mode side by side, each a little off its level so the bootstrap has something to draw. */
const runs = (levels: Partial<Record<"off" | "control" | "sampled" | "all", number>>, n = 8): Unit<number>[] =>
  Array.from({ length: n }, (_, i) =>
    Object.fromEntries(Object.entries(levels).map(([mode, level]) => [mode, [level * (1 + ((i % 3) - 1) * 0.002)]])),
  );

describe("judge", () => {
  it("holds a traced mode against off and control pooled, and the control against off alone", () => {
    const units = runs({ off: 100, control: 104, sampled: 106, all: 130 });
    const { control, modes } = judge(mean, units, ["sampled", "all"], 0.05);
    expect(control?.estimate).toBeCloseTo(0.04, 3);
    const sampled = modes.find((m) => m.mode === "sampled");
    expect(sampled?.overhead.estimate).toBeCloseTo(106 / 102 - 1, 3);
    expect(sampled?.againstOffAlone).toBeCloseTo(0.06, 3);
    expect(sampled?.verdict).toBe("met");
    expect(modes.find((m) => m.mode === "all")?.verdict).toBe("missed");
  });

  it("says a figure the control cannot resolve is not shown only when its estimate is past the target", () => {
    const strays: Unit<number>[] = [
      ...runs({ off: 100, control: 100, sampled: 103 }, 4),
      ...runs({ off: 100, control: 112, sampled: 109 }, 4),
    ];
    const judged = judge(mean, strays, ["sampled"], 0.05);
    expect(judged.resolvable).toBe(false);
    expect(judged.modes[0]?.verdict).toBe("met");
    const past = judge(
      mean,
      runs({ off: 100, control: 100, sampled: 110 }).concat(runs({ off: 100, control: 115, sampled: 120 }, 3)),
      ["sampled"],
      0.05,
    );
    expect(past.resolvable).toBe(false);
    expect(past.modes[0]?.verdict).toBe("not shown");
  });

  it("is not shown when the interval reaches past the target, though the estimate is below it", () => {
    const units = [
      ...runs({ off: 100, control: 100, sampled: 101 }, 4),
      ...runs({ off: 100, control: 100, sampled: 107 }, 4),
    ];
    const [sampled] = judge(mean, units, ["sampled"], 0.05).modes;
    expect(sampled?.overhead.estimate).toBeLessThan(0.05);
    expect(sampled?.overhead.high).toBeGreaterThanOrEqual(0.05);
    expect(sampled?.verdict).toBe("not shown");
  });

  it("turns a figure where lower is worse the right way round", () => {
    const stored: Figure<number> = { ...mean, worseWhen: "lower" };
    expect(overhead(stored, runs({ off: 1000, control: 1000, sampled: 950 }), "sampled").estimate).toBeCloseTo(0.05, 3);
  });
});

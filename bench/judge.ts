/** How bench:observability judges a figure: overheads against the untraced baseline, with their verdicts. */
import type { Mode } from "./observe.js";
import { bootstrapInterval, type Interval } from "./stats.js";

/** One unit of the bootstrap (a run, or a mirrored half-round): what each mode measured in it. */
export type Unit<R> = Partial<Record<Mode, R[]>>;

/** One figure as the results of one or more modes give it. */
export interface Figure<R> {
  label: string;
  unit: string;
  of: (results: readonly R[]) => number;
  worseWhen: "higher" | "lower";
}

export type Verdict = "met" | "not shown" | "missed";
const RANK: Verdict[] = ["met", "not shown", "missed"];
export const worse = (a: Verdict, b: Verdict): Verdict => (RANK.indexOf(a) > RANK.indexOf(b) ? a : b);

export const valueIn = <R>(figure: Figure<R>, units: readonly Unit<R>[], ...modes: Mode[]): number =>
  figure.of(units.flatMap((u) => modes.flatMap((mode) => u[mode] ?? [])));

/**
 * What a traced mode is held against: off and control together, both untraced. Against off
 * alone, one gateway's or loop's noise goes into every ratio of a run; pooled with the control it
 * counts half as much. The control itself is held against off alone: that is the machine's noise.
 */
export const baselineOf = (mode: Mode): Mode[] => (mode === "control" ? ["off"] : ["off", "control"]);

/** The overhead of `mode` against `baseline`, with its bootstrap interval over units. */
export function overhead<R>(
  figure: Figure<R>,
  units: readonly Unit<R>[],
  mode: Mode,
  baseline = baselineOf(mode),
): Interval {
  return bootstrapInterval(units, (drawn) => {
    const ratio = valueIn(figure, drawn, mode) / valueIn(figure, drawn, ...baseline);
    return figure.worseWhen === "higher" ? ratio - 1 : 1 - ratio;
  });
}

export interface Judgement {
  /** The control against off; none when the units hold no control. */
  control?: Interval;
  /** False when the control already strays past the target: this machine cannot judge the figure. */
  resolvable: boolean;
  modes: { mode: Mode; overhead: Interval; againstOffAlone: number; verdict: Verdict }[];
}

/**
 * Met when the whole interval is below the target, missed when the estimate is not. A figure
 * whose control strays past the target is only held against the verdict ("not shown") when its
 * estimate is past the target.
 */
export function judge<R>(
  figure: Figure<R>,
  units: readonly Unit<R>[],
  modes: readonly Mode[],
  target: number,
): Judgement {
  const control = units.some((u) => u.control) ? overhead(figure, units, "control") : undefined;
  const resolvable = !control || (control.high < target && control.low > -target);
  return {
    ...(control ? { control } : {}),
    resolvable,
    modes: modes.map((mode) => {
      const i = overhead(figure, units, mode);
      const verdict: Verdict =
        i.estimate >= target
          ? resolvable
            ? "missed"
            : "not shown"
          : resolvable && i.high >= target
            ? "not shown"
            : "met";
      return { mode, overhead: i, againstOffAlone: overhead(figure, units, mode, ["off"]).estimate, verdict };
    }),
  };
}

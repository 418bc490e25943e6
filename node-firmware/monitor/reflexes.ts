import type { NeighborReading, Reflex } from "../../protocol/index.js";
import type { ActionBackend } from "../execute/executor.js";
import { errorText, type Logger } from "../log.js";

export interface ReflexSettings {
  /** EWMA weight of a new TQ reading. */
  alpha: number;
  /** Readings before a neighbor's TQ average is trusted. */
  warmup: number;
  /** A reading below this share of the average is a collapse. */
  collapseRatio: number;
  /** Below this average the link was never good enough to matter. */
  minAverageTq: number;
  hopPenalty: number;
  cooldownMs: number;
}

export const DEFAULT_REFLEXES: ReflexSettings = { alpha: 0.3, warmup: 3, collapseRatio: 0.5, minAverageTq: 64, hopPenalty: 150, cooldownMs: 60_000 };

/**
 * Local reflexes: repairs that cannot wait for the edge, or must happen without it. A neighbor
 * whose TQ collapses is routed around at once; the edge learns of it with the next sample.
 */
export class Reflexes {
  private readonly averages = new Map<string, { tq: number; samples: number }>();
  private readonly lastFired = new Map<string, number>();

  constructor(
    private readonly backend: ActionBackend,
    private readonly log: Logger,
    private readonly settings: ReflexSettings = DEFAULT_REFLEXES,
  ) {}

  observe(neighbors: readonly NeighborReading[], now: number): Reflex[] {
    const taken: Reflex[] = [];
    for (const reading of neighbors) {
      const reflex = this.check(reading, now);
      if (reflex) taken.push(reflex);
    }
    return taken;
  }

  private check(reading: NeighborReading, now: number): Reflex | null {
    const s = this.settings;
    const average = this.averages.get(reading.neighbor);
    const collapsed = average !== undefined && average.samples >= s.warmup && average.tq >= s.minAverageTq && reading.tq < s.collapseRatio * average.tq;
    if (!collapsed) {
      this.averages.set(reading.neighbor, average ? { tq: average.tq + s.alpha * (reading.tq - average.tq), samples: average.samples + 1 } : { tq: reading.tq, samples: 1 });
      return null;
    }
    if (now - (this.lastFired.get(reading.neighbor) ?? -Infinity) < s.cooldownMs) return null;
    this.lastFired.set(reading.neighbor, now);
    const reason = `TQ to ${reading.neighbor} collapsed to ${reading.tq} from an average of ${Math.round(average.tq)}`;
    this.backend.apply({ kind: "reroute", neighbor: reading.neighbor, hopPenalty: s.hopPenalty }, now).catch((error: unknown) => {
      this.log.warn("reflex failed", { neighbor: reading.neighbor, error: errorText(error) });
    });
    this.log.info("reflex: rerouting around a collapsed link", { neighbor: reading.neighbor, tq: reading.tq });
    return { kind: "reroute", neighbor: reading.neighbor, hopPenalty: s.hopPenalty, reason, ts: now };
  }
}

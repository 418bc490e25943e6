import {
  reflexAction,
  type NeighborReading,
  type PolicySettings,
  type Reflex,
  type SourceReading,
} from "../../protocol/index.js";
import type { ActionBackend } from "../execute/executor.js";
import { errorText, type Logger } from "../lib/log.js";

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
  /** A source arriving faster than this (packets/s) is a flood, isolated at once. */
  floodPps: number;
  /** How long a reflex isolation lasts unless the edge confirms it. */
  isolateTtlS: number;
}

export const DEFAULT_REFLEXES: ReflexSettings = {
  alpha: 0.3,
  warmup: 3,
  collapseRatio: 0.5,
  minAverageTq: 64,
  hopPenalty: 150,
  cooldownMs: 60_000,
  floodPps: 5000,
  isolateTtlS: 30,
};

/**
 * Local reflexes: repairs that cannot wait for the edge, or must happen without it. A neighbor
 * whose TQ collapses is routed around at once, a flooding source is blocked at once; the edge
 * learns of both with the next sample and confirms or lets them lapse.
 */
export class Reflexes {
  readonly taken: Record<Reflex["kind"], number> = { reroute: 0, isolate_source: 0 };
  /** Taken, but the backend could not carry them out. */
  readonly failed: Record<Reflex["kind"], number> = { reroute: 0, isolate_source: 0 };
  private readonly averages = new Map<string, { tq: number; samples: number }>();
  private readonly lastFired = new Map<string, number>();
  /** The configured settings with what the mesh policy sets over them. */
  private settings: ReflexSettings;

  constructor(
    private readonly backend: ActionBackend,
    private readonly log: Logger,
    private readonly configured: ReflexSettings = DEFAULT_REFLEXES,
  ) {
    this.settings = configured;
  }

  /** The governed settings (a verified mesh policy): unset ones keep the node's configuration. */
  applyPolicy(policy: PolicySettings): void {
    const c = this.configured;
    this.settings = {
      ...c,
      floodPps: policy.floodPps ?? c.floodPps,
      collapseRatio: policy.tqCollapseRatio ?? c.collapseRatio,
      cooldownMs: policy.cooldownSeconds === undefined ? c.cooldownMs : policy.cooldownSeconds * 1000,
    };
  }

  observe(neighbors: readonly NeighborReading[], sources: readonly SourceReading[], now: number): Reflex[] {
    const taken: Reflex[] = [];
    for (const reading of neighbors) {
      const reflex = this.checkLink(reading, now);
      if (reflex) taken.push(reflex);
    }
    for (const reading of sources) {
      const reflex = this.checkSource(reading, now);
      if (reflex) taken.push(reflex);
    }
    return taken;
  }

  private checkLink(reading: NeighborReading, now: number): Reflex | null {
    const s = this.settings;
    const average = this.averages.get(reading.neighbor);
    const collapsed =
      average !== undefined &&
      average.samples >= s.warmup &&
      average.tq >= s.minAverageTq &&
      reading.tq < s.collapseRatio * average.tq;
    if (!collapsed) {
      this.averages.set(
        reading.neighbor,
        average
          ? { tq: average.tq + s.alpha * (reading.tq - average.tq), samples: average.samples + 1 }
          : { tq: reading.tq, samples: 1 },
      );
      return null;
    }
    if (!this.ready(`link:${reading.neighbor}`, now)) return null;
    const reflex: Reflex = {
      kind: "reroute",
      neighbor: reading.neighbor,
      hopPenalty: s.hopPenalty,
      reason: `TQ to ${reading.neighbor} collapsed to ${String(reading.tq)} from an average of ${String(Math.round(average.tq))}`,
      ts: now,
    };
    this.take(reflex, { tq: reading.tq });
    return reflex;
  }

  private checkSource(reading: SourceReading, now: number): Reflex | null {
    const s = this.settings;
    if (reading.blocked || reading.packetsPerS <= s.floodPps || !this.ready(`source:${reading.source}`, now))
      return null;
    const reflex: Reflex = {
      kind: "isolate_source",
      source: reading.source,
      ttlSeconds: s.isolateTtlS,
      packetsPerS: reading.packetsPerS,
      reason: `${reading.source} sent ${String(Math.round(reading.packetsPerS))} packets/s, over the local limit of ${String(s.floodPps)}`,
      ts: now,
    };
    this.take(reflex, { packetsPerS: reading.packetsPerS });
    return reflex;
  }

  /** One reflex per target per cooldown: a repair that did not help is the edge's to rethink. */
  private ready(target: string, now: number): boolean {
    if (now - (this.lastFired.get(target) ?? -Infinity) < this.settings.cooldownMs) return false;
    this.lastFired.set(target, now);
    return true;
  }

  private take(reflex: Reflex, evidence: Record<string, number>): void {
    this.taken[reflex.kind]++;
    const params = reflexAction(reflex);
    this.backend.apply(params, reflex.ts).catch((error: unknown) => {
      this.failed[reflex.kind]++;
      this.log.warn("reflex failed", { ...params, error: errorText(error) });
    });
    this.log.info(`reflex: ${params.kind}`, { ...params, ...evidence });
  }
}

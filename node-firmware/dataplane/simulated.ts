import { fnv1a } from "../lib/hash.js";
import type { DataPlane, DataPlaneSnapshot } from "./dataplane.js";

/** Where a simulated node's traffic seems to come from: a stable 10.77.x.y per node id. */
export function simulatedAddress(nodeId: string): string {
  const h = fnv1a(nodeId);
  return `10.77.${String((h >>> 8) & 0xff)}.${String(h & 0xff)}`;
}

const BACKGROUND_PPS = 10;
const PACKET_BYTES = 100;

interface Tally {
  packets: number;
  bytes: number;
  droppedBlocked: number;
  droppedRate: number;
}

const total = (tallies: readonly (readonly [string, Tally])[], field: keyof Tally) =>
  tallies.reduce((n, [, t]) => n + t[field], 0);

/**
 * A node's packet filter, modelled: each neighbor sends a steady trickle, injected floods add
 * their rate, and the blocklist and token buckets drop what XDP would drop, with the same TTLs.
 */
export class SimulatedDataPlane implements DataPlane {
  readonly kind = "simulated";
  private readonly tallies = new Map<string, Tally>();
  private readonly floods = new Map<string, number>();
  private readonly blocked = new Map<string, number>();
  private readonly limits = new Map<string, { packetsPerSecond: number; until: number }>();
  private lastAt: number | undefined;

  constructor(private readonly neighbors: readonly string[]) {}

  flood(source: string, packetsPerSecond: number): void {
    this.floods.set(source, packetsPerSecond);
  }

  calm(source: string): void {
    this.floods.delete(source);
  }

  snapshot(now: number): Promise<DataPlaneSnapshot> {
    this.expire(now);
    this.advance(now);
    const tallies = [...this.tallies];
    return Promise.resolve({
      sources: tallies.map(([source, t]) => ({
        source,
        packets: t.packets,
        bytes: t.bytes,
        dropped: t.droppedBlocked + t.droppedRate,
      })),
      blocked: new Set(this.blocked.keys()),
      rateLimitedSources: this.limits.size,
      dropped: { blocked: total(tallies, "droppedBlocked"), rateLimited: total(tallies, "droppedRate") },
      // Every modelled source is an IPv4 address.
      packets: { ipv4: total(tallies, "packets"), ipv6: 0, batadv: 0, other: 0, truncated: 0 },
    });
  }

  isolate(source: string, ttlSeconds: number, now: number): Promise<void> {
    this.blocked.set(source, now + ttlSeconds * 1000);
    return Promise.resolve();
  }

  rateLimit(source: string, packetsPerSecond: number, ttlSeconds: number, now: number): Promise<void> {
    this.limits.set(source, { packetsPerSecond, until: now + ttlSeconds * 1000 });
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private expire(now: number): void {
    for (const [source, until] of this.blocked) if (until <= now) this.blocked.delete(source);
    for (const [source, limit] of this.limits) if (limit.until <= now) this.limits.delete(source);
  }

  private advance(now: number): void {
    const elapsedS = this.lastAt === undefined ? 0 : Math.max(0, now - this.lastAt) / 1000;
    this.lastAt = now;
    const rates = new Map(this.neighbors.map((n) => [simulatedAddress(n), BACKGROUND_PPS]));
    for (const [source, pps] of this.floods) rates.set(source, (rates.get(source) ?? 0) + pps);
    for (const [source, pps] of rates) {
      const packets = Math.round(pps * elapsedS);
      const t = this.tallies.get(source) ?? { packets: 0, bytes: 0, droppedBlocked: 0, droppedRate: 0 };
      t.packets += packets;
      t.bytes += packets * PACKET_BYTES;
      const limit = this.limits.get(source);
      if (this.blocked.has(source)) t.droppedBlocked += packets;
      else if (limit) t.droppedRate += Math.max(0, packets - Math.round(limit.packetsPerSecond * elapsedS));
      this.tallies.set(source, t);
    }
  }
}

import { limits, type DataPlaneReading, type SourceReading } from "../../protocol/index.js";
import type { DataPlane, DataPlaneSnapshot, SourceCounters } from "./dataplane.js";

const round = (v: number) => Math.round(v * 10) / 10;
/** Growth of a cumulative count; one that went backwards was evicted (LRU) and re-created, so it grew from zero. */
const grown = (current: number, before: number) => (current >= before ? current - before : current);

/**
 * Turns cumulative per-source counters into per-second rates between two snapshots and keeps the
 * busiest sources. A source seen for the first time is rated from zero over the interval.
 */
export class SourceRates {
  private previous = new Map<string, SourceCounters>();
  private previousAt: number | undefined;

  rate(snapshot: DataPlaneSnapshot, now: number): SourceReading[] {
    const elapsedS = this.previousAt === undefined ? 0 : (now - this.previousAt) / 1000;
    const readings: SourceReading[] = [];
    if (elapsedS > 0) {
      for (const c of snapshot.sources) {
        const before = this.previous.get(c.source) ?? { packets: 0, bytes: 0, dropped: 0 };
        readings.push({
          source: c.source,
          packetsPerS: round(grown(c.packets, before.packets) / elapsedS),
          bytesPerS: round(grown(c.bytes, before.bytes) / elapsedS),
          droppedPerS: round(grown(c.dropped, before.dropped) / elapsedS),
          blocked: snapshot.blocked.has(c.source),
        });
      }
    }
    this.previous = new Map(snapshot.sources.map((c) => [c.source, c]));
    this.previousAt = now;
    return readings.sort((a, b) => b.packetsPerS - a.packetsPerS).slice(0, limits.sources);
  }
}

/** The data plane's part of a telemetry sample. */
export async function readDataPlane(
  dataplane: DataPlane,
  rates: SourceRates,
  now: number,
): Promise<{ reading: DataPlaneReading; snapshot: DataPlaneSnapshot }> {
  const snapshot = await dataplane.snapshot(now);
  const reading: DataPlaneReading = {
    kind: dataplane.kind,
    ...(dataplane.xdpMode ? { xdpMode: dataplane.xdpMode } : {}),
    ...(dataplane.fallbackReason ? { fallbackReason: dataplane.fallbackReason.slice(0, 256) } : {}),
    sources: rates.rate(snapshot, now),
    blocklistSize: snapshot.blocked.size,
    rateLimitedSources: snapshot.rateLimitedSources,
    dropped: snapshot.dropped,
    ...(snapshot.packets ? { packets: snapshot.packets } : {}),
  };
  return { reading, snapshot };
}

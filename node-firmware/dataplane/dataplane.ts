import type { DataPlaneReading, InterfaceCounters, PacketsByProtocol } from "../../protocol/index.js";

/** Cumulative counters of one traffic source since the data plane started. */
export interface SourceCounters {
  source: string;
  packets: number;
  bytes: number;
  /** Dropped by the blocklist or the rate limit. */
  dropped: number;
}

export interface DataPlaneSnapshot {
  sources: SourceCounters[];
  /** Sources blocked now (expired entries left out). */
  blocked: ReadonlySet<string>;
  rateLimitedSources: number;
  dropped: { blocked: number; rateLimited: number };
  /** What the filter has seen, by protocol, when it sees every packet (not from interface counters). */
  packets?: PacketsByProtocol;
  /** The mesh interface's own counters, when the data plane sits on a real interface. */
  interfaceCounters?: InterfaceCounters;
}

/**
 * Where packets are counted and filtered: XDP in the kernel on a router, interface counters when
 * eBPF is unavailable, a model in the simulator. `isolate` and `rateLimit` carry out the MAPE-K
 * actions of the same names and reject when the data plane cannot filter.
 */
export interface DataPlane {
  readonly kind: DataPlaneReading["kind"];
  readonly xdpMode?: "native" | "generic";
  readonly fallbackReason?: string;
  snapshot(now: number): Promise<DataPlaneSnapshot>;
  isolate(source: string, ttlSeconds: number, now: number): Promise<void>;
  rateLimit(source: string, packetsPerSecond: number, ttlSeconds: number, now: number): Promise<void>;
  close(): Promise<void>;
}

import { z } from "zod";
import { messageVersion } from "./version.js";
import { EpochMs, NodeId, Role } from "./ids.js";
import { limits } from "./limits.js";

/** Link quality to one neighbor as the node sees it (batman-adv TQ is 0..255). */
export const NeighborReading = z.object({
  neighbor: NodeId,
  tq: z.number().int().min(0).max(255),
  latencyMs: z.number().nonnegative().max(60_000),
  loss: z.number().min(0).max(1),
});
export type NeighborReading = z.infer<typeof NeighborReading>;

const Counter = z.number().int().nonnegative();

/** Cumulative counters of the node's mesh interface since boot. */
export const InterfaceCounters = z.object({
  rxBytes: Counter,
  txBytes: Counter,
  rxPackets: Counter,
  txPackets: Counter,
  rxDropped: Counter,
  txDropped: Counter,
});
export type InterfaceCounters = z.infer<typeof InterfaceCounters>;

export const ProcessStats = z.object({
  rssBytes: Counter,
  cpuPercent: z
    .number()
    .nonnegative()
    .max(100 * 1024),
});
export type ProcessStats = z.infer<typeof ProcessStats>;

/** An IPv4 or IPv6 source address as text. */
export const SourceAddress = z.union([z.ipv4(), z.ipv6()]);

/** One traffic source as the node's data plane counts it over the last interval. */
export const SourceReading = z.object({
  source: SourceAddress,
  /** Arriving packets per second, those dropped included. */
  packetsPerS: z.number().nonnegative(),
  bytesPerS: z.number().nonnegative(),
  droppedPerS: z.number().nonnegative(),
  /** On the node's blocklist now. */
  blocked: z.boolean(),
});
export type SourceReading = z.infer<typeof SourceReading>;

/** Packets the data plane has seen since it started, dropped ones included, by what they carry. */
export const PacketsByProtocol = z.object({
  ipv4: Counter,
  ipv6: Counter,
  /** batman-adv frames (ethertype 0x4305): the mesh's own traffic, always passed. */
  batadv: Counter,
  /** ARP and anything else the filter does not parse: passed. */
  other: Counter,
  /** Shorter than the header their ethertype announces: passed. */
  truncated: Counter,
});
export type PacketsByProtocol = z.infer<typeof PacketsByProtocol>;

/** Where the node's packet counters come from, and what its filter holds. */
export const DataPlaneReading = z.object({
  /** `xdp`: eBPF in the kernel; `sysfs`: interface counters only (no per-source view); `simulated`. */
  kind: z.enum(["xdp", "sysfs", "simulated"]),
  /** How the XDP program is attached: in the driver, or in the generic (skb) path. */
  xdpMode: z.enum(["native", "generic"]).optional(),
  /** Why the node runs without XDP, when it does. */
  fallbackReason: z.string().max(256).optional(),
  /** The busiest sources, by packet rate. */
  sources: z.array(SourceReading).max(limits.sources),
  blocklistSize: Counter,
  rateLimitedSources: Counter,
  /** Cumulative drops since the data plane started. */
  dropped: z.object({ blocked: Counter, rateLimited: Counter }),
  /** Absent with `sysfs`: interface counters cannot tell one protocol from another. */
  packets: PacketsByProtocol.optional(),
});
export type DataPlaneReading = z.infer<typeof DataPlaneReading>;

const ReflexBase = { reason: z.string().max(256), ts: EpochMs };

/** TCP health toward one destination, from tcp_health (a sockops program on the agent's cgroup). */
export const TcpDestinationReading = z.object({
  destination: SourceAddress,
  /** Segments retransmitted toward it since the program was attached. */
  retransmits: Counter,
  rttSamples: Counter,
  /** The median smoothed RTT in µs (the lower edge of its log2 bucket); null before any sample. */
  medianRttUs: z.number().nonnegative().nullable(),
});
export type TcpDestinationReading = z.infer<typeof TcpDestinationReading>;

/** A repair the node made by itself, without the edge (a local reflex), reported with the next sample. */
export const Reflex = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("reroute"),
    neighbor: NodeId,
    hopPenalty: z.number().int().min(0).max(255),
    ...ReflexBase,
  }),
  z.object({
    kind: z.literal("isolate_source"),
    source: SourceAddress,
    ttlSeconds: z.number().int().min(1).max(86_400),
    packetsPerS: z.number().nonnegative(),
    ...ReflexBase,
  }),
]);
export type Reflex = z.infer<typeof Reflex>;

/** One Monitor sample, published by a node every interval. */
export const NodeTelemetry = z.object({
  v: messageVersion(1),
  nodeId: NodeId,
  role: Role,
  /** Increases by one per sample; restarts at 0 with the agent. */
  seq: z.number().int().nonnegative(),
  ts: EpochMs,
  firmware: z.string().min(1).max(64),
  uptimeS: z.number().nonnegative(),
  neighbors: z.array(NeighborReading).max(limits.neighbors),
  counters: InterfaceCounters,
  process: ProcessStats,
  /** The node's outage buffer: samples waiting for the broker, and samples lost to its bound. */
  buffer: z.object({ queued: Counter, dropped: Counter }).optional(),
  dataplane: DataPlaneReading.optional(),
  /** TCP health per destination (the busiest), when tcp_health runs on the node. */
  tcp: z.array(TcpDestinationReading).max(limits.sources).optional(),
  /** Reflexes taken since the previous sample. */
  reflexes: z.array(Reflex).max(16).optional(),
});
export type NodeTelemetry = z.infer<typeof NodeTelemetry>;

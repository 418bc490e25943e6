import { z } from "zod";
import { EpochMs, NodeId, Role } from "./ids.js";
import { limits } from "./limits.js";

/** Link quality to one neighbor as the node sees it (batman-adv TQ is 0..255). */
export const NeighborReading = z.strictObject({
  neighbor: NodeId,
  tq: z.number().int().min(0).max(255),
  latencyMs: z.number().nonnegative().max(60_000),
  loss: z.number().min(0).max(1),
});
export type NeighborReading = z.infer<typeof NeighborReading>;

const Counter = z.number().int().nonnegative();

/** Cumulative counters of the node's mesh interface since boot. */
export const InterfaceCounters = z.strictObject({
  rxBytes: Counter,
  txBytes: Counter,
  rxPackets: Counter,
  txPackets: Counter,
  rxDropped: Counter,
  txDropped: Counter,
});
export type InterfaceCounters = z.infer<typeof InterfaceCounters>;

export const ProcessStats = z.strictObject({
  rssBytes: Counter,
  cpuPercent: z.number().nonnegative().max(100 * 1024),
});
export type ProcessStats = z.infer<typeof ProcessStats>;

/** A repair the node made by itself, without the edge (a local reflex), reported with the next sample. */
export const Reflex = z.strictObject({
  kind: z.literal("reroute"),
  neighbor: NodeId,
  hopPenalty: z.number().int().min(0).max(255),
  reason: z.string().max(256),
  ts: EpochMs,
});
export type Reflex = z.infer<typeof Reflex>;

/** One Monitor sample, published by a node every interval. */
export const NodeTelemetry = z.strictObject({
  v: z.literal(1),
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
  buffer: z.strictObject({ queued: Counter, dropped: Counter }).optional(),
  /** Reflexes taken since the previous sample. */
  reflexes: z.array(Reflex).max(16).optional(),
});
export type NodeTelemetry = z.infer<typeof NodeTelemetry>;

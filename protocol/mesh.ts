import { z } from "zod";
import { NodeId, Role } from "./ids.js";

/** `stale`: marked online but silent for longer than the control plane's stale window. */
export const MeshNodeStatus = z.enum(["online", "offline", "stale"]);
export type MeshNodeStatus = z.infer<typeof MeshNodeStatus>;

const IsoTime = z.iso.datetime();

export const MeshNode = z.object({
  id: NodeId,
  spiffeId: z.string(),
  role: Role,
  status: MeshNodeStatus,
  firmwareVersion: z.string(),
  firstSeen: IsoTime,
  lastSeen: IsoTime,
  /** Telemetry samples stored, and samples known missing from gaps in the node's sequence numbers. */
  samplesStored: z.number().int().nonnegative(),
  samplesMissing: z.number().int().nonnegative(),
});
export type MeshNode = z.infer<typeof MeshNode>;

/** A directed link: quality of `to` as measured by `from`. */
export const MeshLink = z.object({
  from: NodeId,
  to: NodeId,
  tq: z.number().int().min(0).max(255),
  latencyMs: z.number().nonnegative(),
  loss: z.number().min(0).max(1),
  updatedAt: IsoTime,
});
export type MeshLink = z.infer<typeof MeshLink>;

export const NodeList = z.object({ nodes: z.array(MeshNode) });
export type NodeList = z.infer<typeof NodeList>;

export const Topology = z.object({
  generatedAt: IsoTime,
  nodes: z.array(MeshNode),
  links: z.array(MeshLink),
});
export type Topology = z.infer<typeof Topology>;

export const NodeListQuery = z.object({
  status: MeshNodeStatus.optional(),
});

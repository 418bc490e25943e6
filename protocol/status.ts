import { z } from "zod";
import { messageVersion } from "./version.js";
import { EpochMs, NodeId, Role } from "./ids.js";

export const NodeState = z.enum(["online", "offline"]);
export type NodeState = z.infer<typeof NodeState>;

/**
 * Retained presence of a node. The `offline` form is also the node's Last Will,
 * so its `ts` is the connect time, not the time the broker noticed the loss.
 */
export const NodeStatus = z.object({
  v: messageVersion(1),
  nodeId: NodeId,
  role: Role,
  state: NodeState,
  ts: EpochMs,
  firmware: z.string().min(1).max(64),
});
export type NodeStatus = z.infer<typeof NodeStatus>;

import { NodeId } from "./ids.js";

const ROOT = "x0/v1/nodes";

/** What a node publishes under its own topic tree. */
export const NODE_CHANNELS = ["telemetry", "status", "rejections", "actions", "results"] as const;
export type NodeChannel = (typeof NODE_CHANNELS)[number];

export const topics = {
  telemetry: (nodeId: string) => `${ROOT}/${nodeId}/telemetry`,
  status: (nodeId: string) => `${ROOT}/${nodeId}/status`,
  /** Where a consumer answers a node whose message it could not accept. */
  rejections: (nodeId: string) => `${ROOT}/${nodeId}/rejections`,
  /** Signed actions for the node (QoS 1), and the node's result for each. */
  actions: (nodeId: string) => `${ROOT}/${nodeId}/actions`,
  results: (nodeId: string) => `${ROOT}/${nodeId}/results`,
  /** Filter matching one channel of every node. */
  allNodes: (channel: NodeChannel) => `${ROOT}/+/${channel}`,
  /** MQTT 5 shared subscription: each message goes to one member of `group`. */
  shared: (group: string, filter: string) => `$share/${group}/${filter}`,
} as const;

export interface NodeTopic {
  nodeId: string;
  channel: NodeChannel;
}

export function parseNodeTopic(topic: string): NodeTopic | null {
  const parts = topic.split("/");
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}/${parts[2]}` !== ROOT) return null;
  const [, , , nodeId, channel] = parts;
  if (!NodeId.safeParse(nodeId).success) return null;
  if (!NODE_CHANNELS.includes(channel as NodeChannel)) return null;
  return { nodeId: nodeId as string, channel: channel as NodeChannel };
}

export interface SharedFilter {
  group: string;
  filter: string;
}

/** Splits `$share/<group>/<filter>`; null when the topic is not a shared subscription. */
export function parseSharedFilter(topic: string): SharedFilter | null {
  const match = /^\$share\/([^/+#]+)\/(.+)$/.exec(topic);
  if (!match) return null;
  return { group: match[1] as string, filter: match[2] as string };
}

/** Fault injection for simulated nodes, published by admins (lab and demo use). */
export const simTopic = (nodeId: string) => `x0/v1/sim/${nodeId}/faults`;

/** Retained messages every verifier in the mesh follows. */
export const sharedTopics = {
  denyList: "x0/v1/identity/denylist",
  /** The mesh policy executed governance proposals set (`PolicyBroadcast`, signed like actions). */
  policy: "x0/v1/policy",
} as const;

import { decodePayload } from "./codec.js";
import { PolicyBroadcast } from "./dao.js";
import { DenyList } from "./identity.js";
import { ActionResult, SignedAction, SimFault } from "./mape.js";
import { Rejection } from "./rejection.js";
import { NodeStatus } from "./status.js";
import { NodeTelemetry } from "./telemetry.js";
import { parseNodeTopic, sharedTopics } from "./topics.js";

export type NodeMessage =
  | { channel: "telemetry"; nodeId: string; value: NodeTelemetry }
  | { channel: "status"; nodeId: string; value: NodeStatus }
  | { channel: "rejections"; nodeId: string; value: Rejection }
  | { channel: "actions"; nodeId: string; value: SignedAction }
  | { channel: "results"; nodeId: string; value: ActionResult }
  | { channel: "shared"; nodeId: ""; value: DenyList | PolicyBroadcast }
  | { channel: "sim"; nodeId: ""; value: SimFault };

export type RejectReason = Rejection["reason"];
export type NodeMessageResult =
  { ok: true; message: NodeMessage } | { ok: false; reason: RejectReason; detail: string; nodeId: string | null };

const SCHEMAS = {
  telemetry: NodeTelemetry,
  status: NodeStatus,
  rejections: Rejection,
  actions: SignedAction,
  results: ActionResult,
} as const;

/** Messages every verifier follows, by topic, with their schemas. */
const SHARED_SCHEMAS = new Map<string, typeof DenyList | typeof PolicyBroadcast>([
  [sharedTopics.denyList, DenyList],
  [sharedTopics.policy, PolicyBroadcast],
]);

/**
 * Decodes a message on one of the mesh-wide topics (such as the deny list); null when the topic is not one.
 */
export function decodeSharedMessage(topic: string, payload: Uint8Array): NodeMessageResult | null {
  if (/^x0\/v1\/sim\/[^/]+\/faults$/.test(topic)) {
    const fault = decodePayload(SimFault, payload);
    return fault.ok
      ? { ok: true, message: { channel: "sim", nodeId: "", value: fault.value } }
      : { ok: false, reason: fault.reason, detail: fault.detail, nodeId: null };
  }
  const schema = SHARED_SCHEMAS.get(topic);
  if (!schema) return null;
  const decoded = decodePayload(schema, payload);
  return decoded.ok
    ? { ok: true, message: { channel: "shared", nodeId: "", value: decoded.value } }
    : { ok: false, reason: decoded.reason, detail: decoded.detail, nodeId: null };
}

/**
 * Decodes a message published under a node's topic tree: the topic must be ours, the payload
 * must fit the channel's schema, and a payload naming a node must name the topic's node.
 */
export function decodeNodeMessage(topic: string, payload: Uint8Array): NodeMessageResult {
  const parsed = parseNodeTopic(topic);
  if (!parsed)
    return { ok: false, reason: "unknown-topic", detail: `not a node topic: ${topic.slice(0, 200)}`, nodeId: null };
  const { nodeId, channel } = parsed;
  const decoded = decodePayload(SCHEMAS[channel], payload);
  if (!decoded.ok) return { ok: false, reason: decoded.reason, detail: decoded.detail, nodeId };
  const value = decoded.value;
  if ("nodeId" in value && value.nodeId !== nodeId) {
    return {
      ok: false,
      reason: "topic-mismatch",
      detail: `payload is from "${value.nodeId}", topic is "${nodeId}"`,
      nodeId,
    };
  }
  return { ok: true, message: { channel, nodeId, value } as NodeMessage };
}

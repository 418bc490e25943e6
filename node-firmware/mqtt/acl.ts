import { parseSharedFilter, sharedTopics, simTopic, topicMatches, topics, type Principal } from "../../protocol/index.js";

/**
 * Topic ACL of the embedded broker, by the SPIFFE identity of the connection:
 * a node publishes only under its own topics and subscribes only to its own inbound topics and
 * the shared retained ones; a gateway relays for everyone; an admin may do anything.
 */
const nodeOwn = (nodeId: string) => [topics.telemetry(nodeId), topics.status(nodeId), topics.results(nodeId)];
const nodeInbound = (nodeId: string) => [topics.actions(nodeId), topics.rejections(nodeId), sharedTopics.denyList, simTopic(nodeId)];

const GATEWAY_PUBLISH = [topics.allNodes("rejections"), topics.allNodes("actions"), sharedTopics.denyList];

function ownerOf(principal: Principal): string | null {
  if (principal.kind === "node" || principal.kind === "service") return principal.nodeId;
  if (principal.kind === "gateway") return principal.gatewayId;
  return null;
}

export function mayPublish(principal: Principal, topic: string): boolean {
  if (principal.kind === "admin") return true;
  const owner = ownerOf(principal);
  if (owner !== null && principal.kind !== "service" && nodeOwn(owner).includes(topic)) return true;
  return principal.kind === "gateway" && GATEWAY_PUBLISH.some((filter) => topicMatches(filter, topic));
}

/** `filter` may be a `$share/…` subscription; the group does not change what may be read. */
export function maySubscribe(principal: Principal, filter: string): boolean {
  const plain = parseSharedFilter(filter)?.filter ?? filter;
  if (principal.kind === "admin" || principal.kind === "gateway") return plain.startsWith("x0/");
  const owner = ownerOf(principal);
  return owner !== null && nodeInbound(owner).includes(plain);
}

/** The MQTT client id a principal must use: a node's is its node id, so presence and Last Will stay its own. */
export function requiredClientId(principal: Principal): string | null {
  return principal.kind === "node" ? principal.nodeId : principal.kind === "gateway" ? principal.gatewayId : null;
}

import {
  parseSharedFilter,
  sharedTopics,
  simTopic,
  topicMatches,
  topics,
  type Principal,
} from "../../protocol/index.js";

/**
 * Topic ACL of the embedded broker, by the SPIFFE identity of the connection:
 * a node publishes only under its own topics and subscribes only to its own inbound topics and
 * the shared retained ones; a gateway relays for everyone; an admin may do anything. The
 * fault-injection topics exist only on a broker of a simulated mesh (`simulation`): elsewhere
 * nobody may use them, admins included.
 */
export interface AclOptions {
  simulation: boolean;
}

const SIM_TOPICS = simTopic("+");

const nodeOwn = (nodeId: string) => [topics.telemetry(nodeId), topics.status(nodeId), topics.results(nodeId)];
const nodeInbound = (nodeId: string, acl: AclOptions) => [
  topics.actions(nodeId),
  topics.rejections(nodeId),
  sharedTopics.denyList,
  sharedTopics.policy,
  ...(acl.simulation ? [simTopic(nodeId)] : []),
];

const GATEWAY_PUBLISH = [
  topics.allNodes("rejections"),
  topics.allNodes("actions"),
  sharedTopics.denyList,
  sharedTopics.policy,
];

function ownerOf(principal: Principal): string | null {
  if (principal.kind === "node" || principal.kind === "service") return principal.nodeId;
  if (principal.kind === "gateway") return principal.gatewayId;
  return null;
}

/**
 * A topic only a simulated mesh has (a wildcard subscription elsewhere finds nothing, since nothing
 * may publish there).
 */
const isSimulation = (topic: string) => topicMatches(SIM_TOPICS, topic);

export function mayPublish(principal: Principal, topic: string, acl: AclOptions): boolean {
  if (!acl.simulation && isSimulation(topic)) return false;
  if (principal.kind === "admin") return true;
  const owner = ownerOf(principal);
  if (owner !== null && principal.kind !== "service" && nodeOwn(owner).includes(topic)) return true;
  return principal.kind === "gateway" && GATEWAY_PUBLISH.some((filter) => topicMatches(filter, topic));
}

/** `filter` may be a `$share/…` subscription; the group does not change what may be read. */
export function maySubscribe(principal: Principal, filter: string, acl: AclOptions): boolean {
  const plain = parseSharedFilter(filter)?.filter ?? filter;
  if (!acl.simulation && isSimulation(plain)) return false;
  if (principal.kind === "admin" || principal.kind === "gateway") return plain.startsWith("x0/");
  const owner = ownerOf(principal);
  return owner !== null && nodeInbound(owner, acl).includes(plain);
}

/** The MQTT client id a principal must use: a node's is its node id, so presence and Last Will stay its own. */
export function requiredClientId(principal: Principal): string | null {
  return principal.kind === "node" ? principal.nodeId : principal.kind === "gateway" ? principal.gatewayId : null;
}

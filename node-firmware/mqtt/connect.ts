import type { Socket } from "node:net";
import mqtt, { type MqttClient } from "mqtt";
import { RELEASE, topics, type NodeStatus, type Role } from "../../protocol/index.js";
import type { AgentConfig } from "../config/schema.js";
import type { ClientTls } from "../identity/tls.js";

export function statusMessage(nodeId: string, role: Role, state: NodeStatus["state"]): NodeStatus {
  return { v: 1, nodeId, role, state, ts: Date.now(), firmware: RELEASE };
}

/**
 * One MQTT 5 session per agent, client id = node id, with a retained `offline` Last Will
 * so the mesh learns of a crash from the broker. Publishes while disconnected are not queued:
 * the caller decides what to keep. With `tls` (an SVID and a SPIFFE check of the broker) it is mTLS.
 */
export function connectMqtt(config: AgentConfig, tls?: ClientTls): MqttClient {
  const will = statusMessage(config.nodeId, config.role, "offline");
  const client = mqtt.connect(config.broker.url, {
    ...tls,
    protocolVersion: 5,
    clientId: config.nodeId,
    clean: true,
    keepalive: config.broker.keepaliveS,
    reconnectPeriod: config.broker.reconnectMs,
    connectTimeout: 10_000,
    queueQoSZero: false,
    resubscribe: true,
    will: { topic: topics.status(config.nodeId), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
  });
  client.on("connect", () => {
    disableNagle(client);
  });
  return client;
}

/** Small packets in a latency-bound loop: Nagle's algorithm would hold each one for a delayed ACK. */
export function disableNagle(client: MqttClient): void {
  const stream = client.stream as Partial<Socket>;
  stream.setNoDelay?.(true);
}

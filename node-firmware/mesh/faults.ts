import type { MqttClient } from "mqtt";
import { SimFault, decodePayload, simTopic } from "../../protocol/index.js";
import { errorText, type Logger } from "../log.js";
import type { SimulatedMesh } from "./simulated.js";

/** Lets an admin inject faults into this node's simulated mesh over MQTT (the broker lets only admins publish there). */
export function acceptSimFaults(client: MqttClient, nodeId: string, mesh: SimulatedMesh, log: Logger): void {
  const topic = simTopic(nodeId);
  client.on("connect", () => {
    client.subscribe(topic, { qos: 1 }, (error) => {
      if (error) log.warn("fault injection subscription failed", { error: errorText(error) });
    });
  });
  client.on("message", (received, payload) => {
    if (received !== topic) return;
    const fault = decodePayload(SimFault, payload);
    if (!fault.ok) {
      log.warn("invalid fault ignored", { reason: fault.reason, detail: fault.detail });
      return;
    }
    if (fault.value.kind === "degrade") mesh.degrade(fault.value.neighbor, fault.value);
    else mesh.restore(fault.value.neighbor);
    log.info("simulated fault", { ...fault.value });
  });
}

import type { MqttClient } from "mqtt";
import { SimFault, decodePayload, simTopic } from "../../../protocol/index.js";
import { errorText, type Logger } from "../../lib/log.js";
import type { DataPlane } from "../../dataplane/dataplane.js";
import { SimulatedDataPlane } from "../../dataplane/simulated.js";
import type { SimulatedMesh } from "./mesh.js";

/**
 * Lets an admin inject faults into this node's simulated mesh over MQTT (the broker lets only
 * admins publish there).
 */
export function acceptSimFaults(
  client: MqttClient,
  nodeId: string,
  mesh: SimulatedMesh,
  dataplane: DataPlane,
  log: Logger,
): void {
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
    const f = fault.value;
    if ("neighbor" in f && !mesh.neighborIds.includes(f.neighbor)) {
      // A fault on a link the node does not have would create one in the simulation.
      log.warn("fault on a link this node does not have refused", {
        neighbor: f.neighbor,
        neighbors: mesh.neighborIds.join(", "),
      });
      return;
    }
    if (f.kind === "degrade") mesh.degrade(f.neighbor, f);
    else if (f.kind === "link_down") mesh.linkDown(f.neighbor);
    else if (f.kind === "restore") mesh.restore(f.neighbor);
    else if (!(dataplane instanceof SimulatedDataPlane)) {
      log.warn("flood faults need the simulated data plane; send real traffic to a real one", {
        kind: f.kind,
        dataplane: dataplane.kind,
      });
      return;
    } else if (f.kind === "flood") dataplane.flood(f.source, f.packetsPerSecond);
    else dataplane.calm(f.source);
    log.info("simulated fault", { ...f });
  });
}

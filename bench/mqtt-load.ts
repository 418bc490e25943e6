/** What the benchmarks that load a broker with simulated nodes share: their connections and their telemetry. */
import mqtt, { type MqttClient } from "mqtt";
import { RELEASE, type NodeTelemetry } from "../protocol/index.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An MQTT 5 connection as node `clientId`, tried until the broker (still starting) takes it. */
export async function connectWhenUp(clientId: string, port: number): Promise<MqttClient> {
  for (;;) {
    try {
      return await mqtt.connectAsync(`mqtt://127.0.0.1:${String(port)}`, {
        protocolVersion: 5,
        clientId,
        reconnectPeriod: 1000,
        keepalive: 60,
      });
    } catch {
      await sleep(200);
    }
  }
}

/** One telemetry sample of a simulated node, as the JSON it publishes. */
export function telemetryJson(
  nodeId: string,
  seq: number,
  neighbors: NodeTelemetry["neighbors"],
  now = Date.now(),
): string {
  const telemetry: NodeTelemetry = {
    v: 1,
    nodeId,
    role: "node",
    seq,
    ts: now,
    firmware: RELEASE,
    uptimeS: (now / 1000) % 1e6,
    neighbors,
    counters: { rxBytes: 1000, txBytes: 2000, rxPackets: 10, txPackets: 20, rxDropped: 0, txDropped: 0 },
    process: { rssBytes: 40_000_000, cpuPercent: 1 },
  };
  return JSON.stringify(telemetry);
}

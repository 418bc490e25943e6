import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { EmbeddedBroker } from "../../node-firmware/mqtt/broker.js";
import { silentLogger } from "../../node-firmware/lib/log.js";

export const startBroker = () => EmbeddedBroker.start({ host: "127.0.0.1", port: 0 }, silentLogger);

export async function connectClient(port: number, clientId: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: 5,
    clientId,
    reconnectPeriod: 0,
    ...options,
  });
}

export interface Received {
  topic: string;
  payload: string;
}

export function collect(client: MqttClient): Received[] {
  const received: Received[] = [];
  client.on("message", (topic, payload) => received.push({ topic, payload: payload.toString() }));
  return received;
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

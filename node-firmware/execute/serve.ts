import type { MqttClient } from "mqtt";
import { topics } from "../../protocol/index.js";
import { errorText, type Logger } from "../lib/log.js";
import { contextOf, traceparentOfPacket, traceProperties } from "../tracing/propagation.js";
import type { ActionExecutor } from "./executor.js";

/** Takes actions from the node's actions topic (QoS 1) and publishes each result on its results topic. */
export function serveActions(client: MqttClient, nodeId: string, executor: ActionExecutor, log: Logger): void {
  const inbox = topics.actions(nodeId);
  client.on("connect", () => {
    client.subscribe(inbox, { qos: 1 }, (error) => {
      if (error) log.warn("actions subscription failed", { error: errorText(error) });
    });
  });
  client.on("message", (topic, payload, packet) => {
    if (topic === inbox) void executor.handle(payload, Date.now(), contextOf(traceparentOfPacket(packet)));
  });
}

export function resultPublisher(client: MqttClient, nodeId: string, log: Logger) {
  return (result: object, traceparent?: string) => {
    client.publish(
      topics.results(nodeId),
      JSON.stringify(result),
      { qos: 1, ...traceProperties(traceparent) },
      (error) => {
        if (error) log.warn("result publish failed", { error: errorText(error) });
      },
    );
  };
}

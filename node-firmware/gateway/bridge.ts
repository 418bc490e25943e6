import type { MqttClient } from "mqtt";
import { decodeNodeMessage, parseSharedFilter, topicMatches, topics, type BatchItem, type CycleResponse, type NodeMessage } from "../../protocol/index.js";
import type { GatewayConfig } from "../config/schema.js";
import { errorText, type Logger } from "../log.js";
import type { EmbeddedBroker } from "../mqtt/broker.js";
import { RejectionNotifier } from "../mqtt/rejections.js";
import { Batcher } from "./batcher.js";
import type { EdgeClient } from "./edge-client.js";

/**
 * Relays the nodes' telemetry, status and action results to the edge, in arrival order. On an
 * external broker it takes its share of every node's messages through MQTT 5 shared
 * subscriptions and validates each one (an invalid one is counted and answered, never
 * forwarded). On its own embedded broker it taps the messages the broker has already validated:
 * no second decode, no MQTT hop.
 */
export class TelemetryBridge {
  readonly rejections: RejectionNotifier;
  private readonly batcher: Batcher;
  private untap: (() => void) | undefined;
  relayed = 0;

  constructor(
    private readonly client: MqttClient,
    private readonly config: GatewayConfig,
    private readonly edge: EdgeClient,
    private readonly log: Logger,
  ) {
    this.batcher = new Batcher(config.batch, (items) => { edge.enqueue(items); });
    edge.on("actions", (actions) => { this.deliver(actions); });
    this.rejections = new RejectionNotifier((topic, payload) => client.publish(topic, payload, { qos: 0 }), log);
  }

  get filters(): string[] {
    return [topics.allNodes("telemetry"), topics.allNodes("status"), topics.allNodes("results")].map((f) => topics.shared(this.config.shareGroup, f));
  }

  start(broker?: EmbeddedBroker): void {
    if (broker) {
      this.untap = broker.tap((message) => { this.relay(message); });
      this.log.info("relaying node messages from the embedded broker");
      return;
    }
    const relayed = this.filters.map((f) => parseSharedFilter(f)?.filter ?? f);
    // The client carries other subscriptions too (the deny list, the gateway's own actions).
    this.client.on("message", (topic, payload) => {
      if (relayed.some((filter) => topicMatches(filter, topic))) this.handle(topic, payload);
    });
    this.client.on("connect", () => {
      this.client.subscribe(this.filters, { qos: 1 }, (error, granted) => {
        if (error) this.log.error("subscribe failed", { error: errorText(error) });
        else this.log.info("relaying node messages", { filters: granted?.map((g) => `${g.topic} (qos ${g.qos})`) });
      });
    });
  }

  /** Delivers the edge's signed actions on each node's actions topic (QoS 1). */
  deliver(actions: CycleResponse["actions"]): void {
    for (const { nodeId, action } of actions) {
      this.client.publish(topics.actions(nodeId), JSON.stringify(action), { qos: 1 }, (error) => {
        if (error) this.log.warn("action delivery failed", { nodeId, error: errorText(error) });
      });
    }
  }

  /** Stops taking messages, sends what is still batched and waits until the edge has it, or until `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.untap?.();
    if (!this.untap && this.client.connected) {
      await this.client.unsubscribeAsync(this.filters).catch((error: unknown) => {
        this.log.warn("unsubscribe failed", { error: errorText(error) });
      });
    }
    this.batcher.flush();
    await Promise.race([this.edge.drained(), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  /** Validates one message from the broker and batches it, or rejects it. */
  handle(topic: string, payload: Buffer): void {
    const result = decodeNodeMessage(topic, payload);
    if (!result.ok) {
      this.rejections.reject(topic, result.nodeId, result.reason, result.detail);
      return;
    }
    this.relay(result.message);
  }

  private relay(message: NodeMessage): void {
    let item: BatchItem;
    if (message.channel === "telemetry") item = { kind: "telemetry", telemetry: message.value };
    else if (message.channel === "status") item = { kind: "status", status: message.value };
    else if (message.channel === "results") item = { kind: "result", result: message.value };
    else return;
    this.relayed++;
    this.batcher.push(item);
  }
}

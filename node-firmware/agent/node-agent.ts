import type { MqttClient } from "mqtt";
import { topics } from "../../protocol/index.js";
import type { AgentConfig } from "../config/schema.js";
import { errorText, type Logger } from "../log.js";
import { statusMessage } from "../mqtt/connect.js";
import type { TelemetrySampler } from "../monitor/sampler.js";

export interface NodeAgentStats {
  published: number;
  /** Samples taken while the broker was unreachable. */
  skippedOffline: number;
  publishErrors: number;
}

/** The node half of the loop: announces presence and publishes a Monitor sample every interval. */
export class NodeAgent {
  readonly stats: NodeAgentStats = { published: 0, skippedOffline: 0, publishErrors: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly client: MqttClient,
    private readonly sampler: TelemetrySampler,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.client.on("connect", () => {
      this.log.info("connected to broker", { url: this.config.broker.url });
      this.publishStatus("online");
      this.tick(); // the mesh learns our links now, not one interval later
    });
    this.client.on("offline", () => { this.log.warn("broker unreachable, retrying", { url: this.config.broker.url }); });
    this.client.on("error", (error) => { this.log.warn("mqtt error", { error: errorText(error) }); });
    this.timer = setInterval(() => { this.tick(); }, this.config.telemetry.intervalMs);
  }

  tick(): void {
    const sample = this.sampler.next();
    if (!this.client.connected) {
      this.stats.skippedOffline++;
      return;
    }
    this.client.publish(topics.telemetry(this.config.nodeId), JSON.stringify(sample), { qos: 1 }, (error) => {
      if (error) {
        this.stats.publishErrors++;
        this.log.warn("telemetry publish failed", { error: errorText(error), seq: sample.seq });
      } else {
        this.stats.published++;
      }
    });
  }

  /** Says goodbye with a retained `offline` (the Last Will only fires on an unclean loss). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.client.connected) {
      await this.client
        .publishAsync(topics.status(this.config.nodeId), JSON.stringify(statusMessage(this.config.nodeId, this.config.role, "offline")), {
          qos: 1,
          retain: true,
        })
        .catch((error: unknown) => { this.log.warn("offline status not sent", { error: errorText(error) }); });
    }
  }

  private publishStatus(state: "online" | "offline"): void {
    const message = statusMessage(this.config.nodeId, this.config.role, state);
    this.client.publish(topics.status(this.config.nodeId), JSON.stringify(message), { qos: 1, retain: true }, (error) => {
      if (error) this.log.warn("status publish failed", { error: errorText(error), state });
    });
  }
}

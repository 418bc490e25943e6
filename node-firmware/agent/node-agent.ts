import { SpanKind, type Span, type Tracer } from "@opentelemetry/api";
import type { MqttClient } from "mqtt";
import { topics, type NodeTelemetry } from "../../protocol/index.js";
import type { DiskQueue } from "../buffer/disk-queue.js";
import type { Reflexes } from "../monitor/reflexes.js";
import type { AgentConfig } from "../config/schema.js";
import { errorText, type Logger } from "../lib/log.js";
import { statusMessage } from "../mqtt/connect.js";
import type { TelemetrySampler } from "../monitor/sampler.js";
import { childContext, messagingAttributes, traceparentOf, traceProperties } from "../tracing/propagation.js";
import { endSpan, untraced } from "../tracing/tracing.js";

export interface NodeAgentStats {
  published: number;
  /** Samples taken while the broker was unreachable and there was no buffer to keep them. */
  skippedOffline: number;
  publishErrors: number;
  sampleErrors: number;
}

const REPLAY_CHUNK = 50;
const GOODBYE_TIMEOUT_MS = 1000;
const REPLAY_ACK_TIMEOUT_MS = 5000;

/**
 * The node half of the loop: announces presence and publishes a Monitor sample every interval.
 * With a buffer, samples taken while the broker is unreachable (and any taken while a backlog is
 * being replayed) queue on disk and go out in order, QoS 1, once it is back.
 */
export class NodeAgent {
  readonly stats: NodeAgentStats = { published: 0, skippedOffline: 0, publishErrors: 0, sampleErrors: 0 };
  /** The newest Monitor sample, for /metrics. */
  lastSample: NodeTelemetry | undefined;
  /** Called with the seconds from publish to the broker's PUBACK of each live sample. */
  onPublished: ((seconds: number) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(
    private readonly config: AgentConfig,
    private readonly client: MqttClient,
    private readonly sampler: TelemetrySampler,
    private readonly log: Logger,
    private readonly buffer?: DiskQueue<NodeTelemetry>,
    private readonly reflexes?: Reflexes,
    private readonly tracer: Tracer = untraced.tracer,
  ) {}

  start(): void {
    this.client.on("connect", () => {
      this.log.info("connected to broker", { url: this.config.broker.url });
      this.publishStatus("online");
      void this.tick(); // the mesh learns our links now, not one interval later
      void this.drain();
    });
    this.client.on("offline", () => {
      this.log.warn("broker unreachable, retrying", { url: this.config.broker.url });
    });
    this.client.on("error", (error) => {
      this.log.warn("mqtt error", { error: errorText(error) });
    });
    this.timer = setInterval(() => {
      void this.tick();
    }, this.config.telemetry.intervalMs);
  }

  /**
   * One Monitor sample, never throwing: a data plane that cannot be read costs that sample,
   * counted and logged. Traced as `mape.monitor`, which a live publish carries on to the edge.
   */
  async tick(): Promise<void> {
    const monitor = this.tracer.startSpan("mape.monitor", { attributes: { "x0.node.id": this.config.nodeId } });
    let sample: NodeTelemetry;
    try {
      sample = await this.sampler.next();
    } catch (error) {
      this.stats.sampleErrors++;
      this.log.warn("monitor sample failed", { error: errorText(error) });
      endSpan(monitor, error);
      return;
    }
    this.lastSample = sample;
    monitor.setAttribute("x0.telemetry.seq", sample.seq);
    const reflexes = this.reflexes?.observe(sample.neighbors, sample.dataplane?.sources ?? [], sample.ts) ?? [];
    for (const reflex of reflexes) {
      const target = reflex.kind === "reroute" ? reflex.neighbor : reflex.source;
      this.tracer
        .startSpan(
          `adapt.reflex ${reflex.kind}`,
          { attributes: { "x0.adapt.kind": reflex.kind, "x0.adapt.target": target, "x0.adapt.why": reflex.reason } },
          childContext(monitor),
        )
        .end();
    }
    if (reflexes.length > 0) sample.reflexes = reflexes;
    if (this.buffer) sample.buffer = { queued: this.buffer.stats.queued, dropped: this.buffer.stats.dropped };
    if (this.buffer && (!this.client.connected || this.draining || this.buffer.size > 0)) {
      monitor.setAttribute("x0.telemetry.buffered", true);
      monitor.end();
      this.keep(sample);
      return;
    }
    if (!this.client.connected) {
      this.stats.skippedOffline++;
      endSpan(monitor, "broker unreachable, no buffer");
      return;
    }
    this.publishLive(sample, monitor);
  }

  /** Publishes a sample at QoS 1 with its trace in the MQTT 5 user properties; the spans end at the PUBACK. */
  private publishLive(sample: NodeTelemetry, monitor: Span): void {
    const topic = topics.telemetry(this.config.nodeId);
    const publish = this.tracer.startSpan(
      `${topic} publish`,
      { kind: SpanKind.PRODUCER, attributes: messagingAttributes(topic, "send") },
      childContext(monitor),
    );
    const sentAt = performance.now();
    this.client.publish(
      topic,
      JSON.stringify(sample),
      { qos: 1, ...traceProperties(traceparentOf(publish)) },
      (error) => {
        this.onPublished?.((performance.now() - sentAt) / 1000);
        if (error) {
          this.stats.publishErrors++;
          this.log.warn("telemetry publish failed", { error: errorText(error), seq: sample.seq });
          // mqtt.js fails, rather than keeps, a publish made while it resent its store after a
          // reconnect when the connection drops again (mqttjs/MQTT.js#2015): buffered, it goes
          // again in order; if the broker did take it, the edge drops the copy as a duplicate.
          if (!refusedByBroker(error)) this.keep(sample);
        } else {
          this.stats.published++;
        }
        endSpan(publish, error);
        endSpan(monitor, error);
      },
    );
  }

  /** Samples waiting in the outage buffer for the broker. */
  get bufferedSamples(): number {
    return this.buffer?.size ?? 0;
  }

  /** Buffers a sample for the replay; while the buffer holds anything, later samples queue behind it. */
  private keep(sample: NodeTelemetry): void {
    this.buffer?.push(sample).then(
      () => this.drain(),
      (error: unknown) => {
        this.log.error("telemetry buffer write failed", { error: errorText(error) });
      },
    );
  }

  /**
   * One replayed sample, acknowledged by the broker within a bound: a connection lost mid-replay
   * leaves mqtt.js holding the message, and the replay must not wait on it forever. What was not
   * acknowledged stays buffered and goes again (the edge drops the duplicates by timestamp).
   */
  private async publishAcked(sample: NodeTelemetry): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error("no PUBACK in time"));
      }, REPLAY_ACK_TIMEOUT_MS);
    });
    try {
      await Promise.race([
        this.client.publishAsync(topics.telemetry(this.config.nodeId), JSON.stringify(sample), { qos: 1 }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private isOnline(): boolean {
    return this.client.connected;
  }

  /**
   * Replays the backlog in order, a chunk at a time, each sample acknowledged by the broker before
   * it leaves the buffer.
   */
  private async drain(): Promise<void> {
    if (!this.buffer || this.draining || !this.client.connected) return;
    this.draining = true;
    try {
      for (;;) {
        const chunk = await this.buffer.peek(REPLAY_CHUNK);
        // Read afresh each round: the connection can drop while a chunk is in flight.
        if (chunk.items.length === 0 || !this.isOnline()) break;
        for (const sample of chunk.items) await this.publishAcked(sample);
        await this.buffer.ackThrough(chunk);
        this.stats.published += chunk.items.length;
      }
    } catch (error) {
      this.log.warn("backlog replay interrupted; it resumes on reconnect", {
        error: errorText(error),
        queued: this.buffer.size,
      });
    } finally {
      this.draining = false;
    }
  }

  /** Says goodbye with a retained `offline` (the Last Will only fires on an unclean loss). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (!this.client.connected) return;
    const goodbye = this.client
      .publishAsync(
        topics.status(this.config.nodeId),
        JSON.stringify(statusMessage(this.config.nodeId, this.config.role, "offline")),
        { qos: 1, retain: true },
      )
      .then(() => "sent" as const);
    // Bounded: a broker that vanished mid-goodbye must not hold the agent; the Last Will covers it.
    const timeout = new Promise<"timeout">((resolve) =>
      setTimeout(() => {
        resolve("timeout");
      }, GOODBYE_TIMEOUT_MS).unref(),
    );
    const outcome = await Promise.race([goodbye, timeout]).catch((error: unknown) => errorText(error));
    if (outcome !== "sent") this.log.warn("offline status not confirmed", { outcome });
  }

  private publishStatus(state: "online" | "offline"): void {
    const message = statusMessage(this.config.nodeId, this.config.role, state);
    this.client.publish(
      topics.status(this.config.nodeId),
      JSON.stringify(message),
      { qos: 1, retain: true },
      (error) => {
        if (error) this.log.warn("status publish failed", { error: errorText(error), state });
      },
    );
  }
}

/** A PUBACK with a failure reason code (mqtt.js gives its error the code): sending it again would be refused again. */
function refusedByBroker(error: Error): boolean {
  return typeof (error as Error & { code?: unknown }).code === "number";
}

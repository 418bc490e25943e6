import type { MqttClient } from "mqtt";
import { MeshPolicy, PolicyBroadcast, decodePayload, sharedTopics, type ActionKey } from "../../protocol/index.js";
import { openEnvelope } from "../../spiffe/index.js";
import { importActionKeys } from "../execute/signed-action.js";
import { errorText, type Logger } from "../lib/log.js";

/**
 * Follows the retained mesh policy: a copy is applied only once its signature verifies with the
 * control plane's action key (as an action's does) and only when newer than the one applied. A
 * copy that arrives before the node trusts any key waits for the keys; a bad one is counted and
 * dropped, and the node keeps its last policy.
 */
export class PolicyFollower {
  readonly stats = { applied: 0, rejected: 0 };
  /** The revision applied; -1 before any. */
  revision = -1;
  private keys = new Map<string, CryptoKey>();
  private waiting: Uint8Array | undefined;

  constructor(
    private readonly apply: (policy: MeshPolicy) => void,
    private readonly log: Logger,
  ) {}

  async trust(keys: readonly ActionKey[]): Promise<void> {
    this.keys = await importActionKeys(keys);
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) await this.receive(waiting);
  }

  follow(client: MqttClient): void {
    client.on("connect", () => {
      client.subscribe(sharedTopics.policy, { qos: 1 }, (error) => {
        if (error) this.log.warn("policy subscription failed", { error: errorText(error) });
      });
    });
    client.on("message", (topic, payload) => {
      if (topic === sharedTopics.policy) void this.receive(payload);
    });
  }

  async receive(payload: Uint8Array): Promise<void> {
    const broadcast = decodePayload(PolicyBroadcast, payload);
    if (!broadcast.ok) {
      this.reject(`${broadcast.reason}: ${broadcast.detail}`);
      return;
    }
    if (this.keys.size === 0) {
      this.waiting = payload;
      return;
    }
    const opened = await openEnvelope(broadcast.value.signed, this.keys);
    if (!opened.ok) {
      this.reject(`${opened.refusal}: ${opened.reason}`);
      return;
    }
    const policy = decodePayload(MeshPolicy, opened.payload);
    if (!policy.ok) {
      this.reject(`signed payload: ${policy.reason}: ${policy.detail}`);
      return;
    }
    if (policy.value.revision !== broadcast.value.revision) {
      this.reject("the revision outside the signature differs");
      return;
    }
    if (policy.value.revision <= this.revision) return;
    this.revision = policy.value.revision;
    this.stats.applied++;
    this.apply(policy.value);
    this.log.info("mesh policy applied", { revision: this.revision, settings: policy.value.settings });
  }

  private reject(reason: string): void {
    this.stats.rejected++;
    this.log.warn("mesh policy refused; keeping the last one", { reason });
  }
}

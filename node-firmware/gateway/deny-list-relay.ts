import type { MqttClient } from "mqtt";
import { DenyList, sharedTopics } from "../../protocol/index.js";
import type { DenyView } from "../identity/deny-view.js";
import { callEdge } from "../identity/client.js";
import { errorText, type Logger } from "../log.js";

const DEFAULT_INTERVAL_MS = 30_000;

/**
 * Brings the edge's deny list into the mesh: fetched with the gateway's JWT-SVID, applied to the
 * gateway's own verifiers, and published retained so every node's verifiers follow it.
 */
export class DenyListRelay {
  private timer: NodeJS.Timeout | undefined;
  private lastPublished = "";

  constructor(
    private readonly edgeUrl: string,
    private readonly token: () => Promise<string>,
    private readonly client: MqttClient,
    private readonly view: DenyView,
    private readonly log: Logger,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  start(): void {
    // Publishing needs the broker: refresh on every (re)connect, and on a timer in between.
    this.client.on("connect", () => void this.refresh());
    void this.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  async refresh(): Promise<void> {
    clearTimeout(this.timer);
    try {
      const list = await callEdge(this.edgeUrl, await this.token(), "/api/v1/identity/denylist", DenyList);
      this.view.update(list);
      const entries = JSON.stringify(list.entries);
      if (entries !== this.lastPublished && this.client.connected) {
        await this.client.publishAsync(sharedTopics.denyList, JSON.stringify(list), { qos: 1, retain: true });
        this.lastPublished = entries;
        this.log.info("deny list published", { entries: list.entries.length });
      }
    } catch (error) {
      this.log.warn("deny list refresh failed", { error: errorText(error) });
    }
    this.timer = setTimeout(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }
}

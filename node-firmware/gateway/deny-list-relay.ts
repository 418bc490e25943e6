import type { MqttClient } from "mqtt";
import { DenyList, sharedTopics } from "../../protocol/index.js";
import type { DenyView } from "../identity/deny-view.js";
import { callEdge } from "../identity/client.js";
import { errorText, type Logger } from "../lib/log.js";
import { writeDenyListFile } from "./deny-list-file.js";

/** The poll is the fallback: a newer revision announced by the edge's answers to batches triggers a fetch at once. */
const DEFAULT_INTERVAL_MS = 30_000;

export interface DenyListRelayOptions {
  edgeUrl: string;
  token: () => Promise<string>;
  /** Where the gateway keeps its copy (see `deny-list-file.ts`). */
  file: string;
  intervalMs?: number;
}

/**
 * Brings the edge's deny list into the mesh: fetched with the gateway's JWT-SVID, kept on disk,
 * applied to the gateway's own verifiers (its broker closes the sessions it now denies), and
 * published retained so every node's verifiers follow it.
 */
export class DenyListRelay {
  private timer: NodeJS.Timeout | undefined;
  private publishedRevision = -1;
  private fetching: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly options: DenyListRelayOptions,
    private readonly client: MqttClient,
    private readonly view: DenyView,
    private readonly log: Logger,
  ) {}

  start(): void {
    // Publishing needs the broker: publish on every (re)connect, and refresh on a timer in between.
    this.client.on("connect", () => void this.publish());
    void this.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** The edge says the list is at `revision`: fetch it now if ours is older. */
  announce(revision: number): void {
    if (revision > this.view.revision) void this.refresh();
  }

  /** Fetches, stores, applies and publishes the list; one fetch at a time, another after it if asked meanwhile. */
  refresh(): Promise<void> {
    if (this.fetching) {
      this.again = true;
      return this.fetching;
    }
    this.fetching = this.fetch().finally(() => {
      this.fetching = undefined;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.fetching;
  }

  private async fetch(): Promise<void> {
    clearTimeout(this.timer);
    try {
      const list = await callEdge(
        this.options.edgeUrl,
        await this.options.token(),
        "/api/v1/identity/denylist",
        DenyList,
      );
      if (list.revision >= this.view.revision) {
        await writeDenyListFile(this.options.file, list);
        this.view.update(list);
      }
      await this.publish();
    } catch (error) {
      this.log.warn("deny list refresh failed; enforcing the last one held", {
        error: errorText(error),
        revision: this.view.revision,
      });
    }
    this.timer = setTimeout(() => void this.refresh(), this.options.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
  }

  /** Publishes the list held, retained, when the broker has not got this revision yet. */
  private async publish(): Promise<void> {
    const { revision } = this.view;
    if (revision < 0 || revision === this.publishedRevision || !this.client.connected) return;
    const list = this.view.list;
    if (!list) return;
    try {
      await this.client.publishAsync(sharedTopics.denyList, JSON.stringify(list), { qos: 1, retain: true });
      this.publishedRevision = revision;
      this.log.info("deny list published", { revision, entries: list.entries.length });
    } catch (error) {
      this.log.warn("deny list publish failed", { error: errorText(error) });
    }
  }
}

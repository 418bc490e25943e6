import type { MqttClient } from "mqtt";
import type { z } from "zod";
import { DenyList, PolicyBroadcast, sharedTopics } from "../../protocol/index.js";
import { callEdge } from "../identity/client.js";
import { errorText, type Logger } from "../lib/log.js";
import { writeJsonFile } from "./json-file.js";

/** The poll is the fallback: a newer revision announced by the edge's answers to batches triggers a fetch at once. */
const DEFAULT_INTERVAL_MS = 30_000;

/** A document the edge serves with a revision, which the gateway republishes retained to the mesh. */
export interface RelayedDocument<S extends z.ZodType<{ revision: number }>> {
  name: string;
  path: string;
  schema: S;
  topic: string;
}

export const DENY_LIST: RelayedDocument<typeof DenyList> = {
  name: "deny list",
  path: "/api/v1/identity/denylist",
  schema: DenyList,
  topic: sharedTopics.denyList,
};

export const MESH_POLICY: RelayedDocument<typeof PolicyBroadcast> = {
  name: "mesh policy",
  path: "/api/v1/dao/policy/signed",
  schema: PolicyBroadcast,
  topic: sharedTopics.policy,
};

/** What holds the gateway's copy: the deny view its verifiers use, or just the newest policy. */
export interface RelayHolder<T> {
  /** -1 before any copy. */
  readonly revision: number;
  current(): T | undefined;
  /** Takes the copy unless an older one (a late retained replay); returns whether it did. */
  update(value: T): boolean;
}

export interface EdgeRelayOptions {
  edgeUrl: string;
  token: () => Promise<string>;
  /** Where the gateway keeps its copy (see `json-file.ts`). */
  file: string;
  intervalMs?: number;
}

/**
 * Brings a document of the edge into the mesh: fetched with the gateway's JWT-SVID, kept on disk,
 * held (the deny list is applied to the gateway's own verifiers, whose broker closes the sessions
 * it now denies), and published retained so every node follows it.
 */
export class EdgeRelay<S extends z.ZodType<{ revision: number }>> {
  private timer: NodeJS.Timeout | undefined;
  private publishedRevision = -1;
  private fetching: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly document: RelayedDocument<S>,
    private readonly options: EdgeRelayOptions,
    private readonly client: MqttClient,
    private readonly holder: RelayHolder<z.infer<S>>,
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

  /** The edge says the document is at `revision`: fetch it now if ours is older. */
  announce(revision: number): void {
    if (revision > this.holder.revision) void this.refresh();
  }

  /** Fetches, stores, holds and publishes; one fetch at a time, another after it if asked meanwhile. */
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
    const { name } = this.document;
    try {
      const value = await callEdge(
        this.options.edgeUrl,
        await this.options.token(),
        this.document.path,
        this.document.schema,
      );
      if (value.revision >= this.holder.revision) {
        await writeJsonFile(this.options.file, value);
        this.holder.update(value);
      }
      await this.publish();
    } catch (error) {
      this.log.warn(`${name} refresh failed; holding the last one`, {
        error: errorText(error),
        revision: this.holder.revision,
      });
    }
    this.timer = setTimeout(() => void this.refresh(), this.options.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
  }

  /** Publishes the copy held, retained, when the broker has not got this revision yet. */
  private async publish(): Promise<void> {
    const { revision } = this.holder;
    const value = this.holder.current();
    if (revision < 0 || revision === this.publishedRevision || !this.client.connected || !value) return;
    try {
      await this.client.publishAsync(this.document.topic, JSON.stringify(value), { qos: 1, retain: true });
      this.publishedRevision = revision;
      this.log.info(`${this.document.name} published`, { revision });
    } catch (error) {
      this.log.warn(`${this.document.name} publish failed`, { error: errorText(error) });
    }
  }
}

/** The newest copy, for a document the gateway only relays (the policy: nodes verify and apply it). */
export class LatestCopy<T extends { revision: number }> implements RelayHolder<T> {
  private value: T | undefined;

  get revision(): number {
    return this.value?.revision ?? -1;
  }

  current(): T | undefined {
    return this.value;
  }

  update(value: T): boolean {
    if (value.revision < this.revision) return false;
    this.value = value;
    return true;
  }
}

import { EventEmitter } from "node:events";
import {
  CycleResponse,
  PROBLEM_CONTENT_TYPE,
  TRACEPARENT,
  type BatchItem,
  type TelemetryBatch,
} from "../../protocol/index.js";
import type { GatewayConfig } from "../config/schema.js";
import { DiskQueue } from "../buffer/disk-queue.js";
import { countOne, type Counts } from "../lib/counts.js";
import { backoffDelay } from "../lib/backoff.js";
import { systemClock, type Cancel, type Clock } from "../lib/clock.js";
import { errorText, type Logger } from "../lib/log.js";
import { linksTo } from "../tracing/propagation.js";
import { untracedRequests, type RequestSpan, type RequestTracer } from "../tracing/request.js";

/** Why an attempt failed in a way worth retrying: the edge unreachable or slow, or an HTTP status that may pass. */
export type EdgeRetryReason = "network" | "timeout" | "http_401" | "http_408" | "http_429" | "http_5xx";

export interface EdgeStats {
  batchesSent: number;
  itemsSent: number;
  duplicatesReported: number;
  /** Failed attempts that will be retried. */
  retries: number;
  /** The same attempts by reason. */
  retriesByReason: Counts<EdgeRetryReason>;
  /** Items the edge refused (4xx): dropped, since sending them again cannot succeed. */
  itemsRefused: number;
  /** Items dropped, oldest first, because the queue was full while the edge was unreachable. */
  itemsDroppedOverflow: number;
  /** Items the edge refused as coming from a revoked identity. */
  itemsRevoked: number;
}

class RetriableError extends Error {
  constructor(
    readonly reason: EdgeRetryReason,
    message: string,
  ) {
    super(message);
  }
}

/** Where a gateway POSTs its batches on the edge. */
export const CYCLE_PATH = "/api/v1/mape/cycle";
/** OpenTelemetry SDKs keep 128 links a span by default; a batch links that many of its items' traces. */
const MAX_LINKS = 128;

/** Where the edge client gets its JWT-SVID for the control plane. */
export interface EdgeClientOptions {
  /** How the gateway proves itself to the edge; none against an edge that asks for nothing (tests). */
  credentials?: Credentials;
  /** Traces each POST; untraced when absent. */
  traceRequest?: RequestTracer;
  /** Times batching by age and the retries' backoff. */
  clock?: Clock;
}

export interface Credentials {
  token(): Promise<string>;
  /** The edge refused the token: get a fresh one next time. */
  invalidate(): void;
}

/**
 * Sends batches to POST /api/v1/mape/cycle one at a time, in order, retrying with backoff while
 * the edge is down. The queue is on disk and bounded in items; on overflow the oldest go first and
 * are counted.
 */
/**
 * Emits `actions`, the signed actions a cycle answered with, for delivery to their nodes; `cycle`,
 * each delivered batch's round trip in seconds; and `denyListRevision` and `policyRevision`, the
 * edge's revisions as each answer gives them (how a revocation or a policy change reaches a
 * gateway within a batch interval).
 */
export class EdgeClient extends EventEmitter<{
  actions: [CycleResponse["actions"]];
  cycle: [number];
  denyListRevision: [number];
  policyRevision: [number];
}> {
  readonly stats: EdgeStats = {
    batchesSent: 0,
    itemsSent: 0,
    duplicatesReported: 0,
    retries: 0,
    retriesByReason: {},
    itemsRefused: 0,
    itemsDroppedOverflow: 0,
    itemsRevoked: 0,
  };
  private sending = false;
  /** Items arrived while a pump was under way: it looks again before it calls the queue drained. */
  private pumpAgain = false;
  /** The last delivery attempt reached the edge (false while it is down and being retried). */
  reachable = true;
  private attempt = 0;
  private retryTimer: Cancel | undefined;
  private batchTimer: Cancel | undefined;
  /** When the oldest item not yet taken for a batch arrived: a batch goes when full or when it is `maxDelayMs` old. */
  private waitingSince: number | undefined;
  /** Send what is queued without waiting for a batch to fill (stopping). */
  private flushing = false;
  private stopped = false;
  private idle: (() => void)[] = [];
  /** The newest append to the queue (which writes appends in order), for `drained()`. */
  private appending: Promise<void> = Promise.resolve();
  private appendingItems = 0;

  private readonly credentials: Credentials | undefined;
  private readonly traceRequest: RequestTracer;
  private readonly clock: Clock;

  constructor(
    private readonly gatewayId: string,
    private readonly config: GatewayConfig,
    private readonly queue: DiskQueue<BatchItem>,
    private readonly log: Logger,
    options: EdgeClientOptions = {},
  ) {
    super();
    this.credentials = options.credentials;
    this.traceRequest = options.traceRequest ?? untracedRequests;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * The gateway's queue lives in `dir`: what the edge has not acknowledged survives an outage, a
   * restart and a kill.
   */
  static async open(
    gatewayId: string,
    config: GatewayConfig,
    dir: string,
    log: Logger,
    options: EdgeClientOptions = {},
  ): Promise<EdgeClient> {
    const queue = await DiskQueue.open<BatchItem>({
      dir,
      maxItems: config.maxQueuedItems,
      itemsPerSegment: Math.min(config.batch.maxItems, 1000),
      syncIntervalMs: config.queueSyncMs,
    });
    const client = new EdgeClient(gatewayId, config, queue, log, options);
    if (queue.stats.setAside > 0)
      log.warn("set aside unreadable lines of the edge queue (a torn write)", { lines: queue.stats.setAside, dir });
    if (queue.size > 0) log.info("resuming the queue left by the last run", { items: queue.size });
    void client.pump();
    return client;
  }

  /**
   * Appends items to the queue on disk; resolves once they are there, which is when a broker may
   * acknowledge them to their nodes. Fails if the disk refused them.
   */
  enqueue(items: BatchItem[]): Promise<void> {
    this.appendingItems += items.length;
    this.waitingSince ??= this.clock.now();
    const appended = this.queue.pushAll(items).finally(() => {
      this.appendingItems -= items.length;
    });
    this.appending = appended.then(
      () => {
        this.stats.itemsDroppedOverflow = this.queue.stats.dropped;
        void this.pump();
      },
      (error: unknown) => {
        this.log.error("edge queue write failed", { error: errorText(error), items: items.length });
      },
    );
    return appended;
  }

  /** Items waiting for the edge: in the queue, and on their way into it. */
  get queued(): number {
    return this.queue.size + this.appendingItems;
  }

  /** Resolves when everything handed over has reached the edge (or at once if nothing is waiting). */
  async drained(): Promise<void> {
    await this.appending;
    if (this.queue.size === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** Sends what is queued now, without waiting for batches to fill. */
  flush(): void {
    this.flushing = true;
    this.batchTimer?.();
    this.batchTimer = undefined;
    void this.pump();
  }

  /** Stops sending, and closes the queue with everything appended synced to disk. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.retryTimer?.();
    this.batchTimer?.();
    await this.appending;
    await this.queue.close();
  }

  /** A batch is due when full, when its oldest item is `maxDelayMs` old, or when flushing; else the wait left. */
  private batchWait(): number {
    if (this.flushing || this.waitingSince === undefined || this.queue.size >= this.config.batch.maxItems) return 0;
    return this.waitingSince + this.config.batch.maxDelayMs - this.clock.now();
  }

  private async pump(): Promise<void> {
    if (this.sending) this.pumpAgain = true;
    if (this.sending || this.stopped || this.retryTimer || this.batchTimer) return;
    const wait = this.batchWait();
    if (wait > 0 && this.queue.size > 0) {
      this.batchTimer = this.clock.after(wait, () => {
        this.batchTimer = undefined;
        void this.pump();
      });
      return;
    }
    this.sending = true;
    const peeked = await this.queue.peek(this.config.batch.maxItems);
    const { items } = peeked;
    if (items.length === 0) {
      this.sending = false;
      // An append that landed while the queue was being read would otherwise wait for the next one.
      if (this.pumpAgain) {
        this.pumpAgain = false;
        void this.pump();
      } else for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    this.waitingSince = undefined;
    try {
      await this.send(items);
      this.attempt = 0;
      this.reachable = true;
    } catch (error) {
      if (error instanceof RetriableError) {
        this.reachable = false;
        this.sending = false;
        this.stats.retries++;
        countOne(this.stats.retriesByReason, error.reason);
        const delay = backoffDelay(this.attempt++, this.config.retry.initialMs, this.config.retry.maxMs);
        this.log.warn("edge unavailable, will retry", {
          error: error.message,
          delayMs: delay,
          queuedItems: this.queue.size,
        });
        this.retryTimer = this.clock.after(delay, () => {
          this.retryTimer = undefined;
          void this.pump();
        });
        return;
      }
      this.stats.itemsRefused += items.length;
      this.log.error("edge refused batch, dropping it", { error: errorText(error), items: items.length });
    }
    await this.queue.ackThrough(peeked);
    this.stats.itemsDroppedOverflow = this.queue.stats.dropped;
    this.sending = false;
    void this.pump();
  }

  /** One attempt, traced as an HTTP client span linked to the traces of the items it carries. */
  private async send(items: BatchItem[]): Promise<void> {
    const url = new URL(CYCLE_PATH, this.config.edgeUrl);
    const span = this.traceRequest({
      name: `POST ${CYCLE_PATH}`,
      attributes: { "http.request.method": "POST", "url.full": url.href, "x0.batch.items": items.length },
      links: () =>
        linksTo(
          items.map((item) => item.traceparent),
          MAX_LINKS,
        ),
    });
    try {
      await this.post(url, items, span);
      span.end();
    } catch (error) {
      span.end(error);
      throw error;
    }
  }

  private async post(url: URL, items: BatchItem[], span: RequestSpan): Promise<void> {
    const batch: TelemetryBatch = { gatewayId: this.gatewayId, sentAt: Date.now(), items };
    const { traceparent } = span;
    let response: Response;
    const startedAt = performance.now();
    try {
      const authorization: Record<string, string> = this.credentials
        ? { authorization: `Bearer ${await this.credentials.token()}` }
        : {};
      response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...authorization,
          ...(traceparent ? { [TRACEPARENT]: traceparent } : {}),
        },
        body: JSON.stringify(batch),
        signal: AbortSignal.timeout(this.config.retry.requestTimeoutMs),
      });
    } catch (error) {
      throw new RetriableError(
        error instanceof Error && error.name === "TimeoutError" ? "timeout" : "network",
        errorText(error),
      );
    }
    span.answered(response.status);
    const text = await response.text().catch(() => "");
    if (response.ok) {
      this.emit("cycle", (performance.now() - startedAt) / 1000);
      const cycle = CycleResponse.safeParse(safeJson(text));
      this.stats.batchesSent++;
      this.stats.itemsSent += items.length;
      if (!cycle.success) {
        this.log.warn("edge answer not understood; batch counted as delivered", {
          error: cycle.error.issues[0]?.message,
        });
        return;
      }
      this.stats.duplicatesReported += cycle.data.duplicates;
      this.stats.itemsRevoked += cycle.data.revoked;
      this.emit("denyListRevision", cycle.data.denyListRevision);
      if (cycle.data.policyRevision !== undefined) this.emit("policyRevision", cycle.data.policyRevision);
      if (cycle.data.actions.length > 0) this.emit("actions", cycle.data.actions);
      return;
    }
    const detail = `HTTP ${response.status}${response.headers.get("content-type")?.startsWith(PROBLEM_CONTENT_TYPE) ? `: ${text.slice(0, 500)}` : ""}`;
    if (response.status === 401 && this.credentials) {
      this.credentials.invalidate();
      throw new RetriableError("http_401", detail);
    }
    if (response.status >= 500) throw new RetriableError("http_5xx", detail);
    if (response.status === 408 || response.status === 429)
      throw new RetriableError(response.status === 408 ? "http_408" : "http_429", detail);
    throw new Error(detail);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

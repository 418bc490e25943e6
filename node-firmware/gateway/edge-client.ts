import { EventEmitter } from "node:events";
import { CycleResponse, PROBLEM_CONTENT_TYPE, type BatchItem, type TelemetryBatch } from "../../protocol/index.js";
import type { GatewayConfig } from "../config/schema.js";
import { errorText, type Logger } from "../log.js";

export interface EdgeStats {
  batchesSent: number;
  itemsSent: number;
  duplicatesReported: number;
  /** Failed attempts that will be retried. */
  retries: number;
  /** Items the edge refused (4xx): dropped, since sending them again cannot succeed. */
  itemsRefused: number;
  /** Items dropped, oldest first, because the queue was full while the edge was unreachable. */
  itemsDroppedOverflow: number;
}

class RetriableError extends Error {}

/** Where the edge client gets its JWT-SVID for the control plane. */
export interface Credentials {
  token(): Promise<string>;
  /** The edge refused the token: get a fresh one next time. */
  invalidate(): void;
}

/** Minimum and maximum for exponential backoff with full jitter. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.max(initialMs, Math.round(random() * ceiling));
}

/**
 * Sends batches to POST /api/v1/mape/cycle one at a time, in order, retrying with backoff while
 * the edge is down. The queue is bounded in items; on overflow the oldest go first and are counted.
 */
/** Emits `actions`: the signed actions a cycle answered with, for delivery to their nodes. */
export class EdgeClient extends EventEmitter<{ actions: [CycleResponse["actions"]] }> {
  readonly stats: EdgeStats = { batchesSent: 0, itemsSent: 0, duplicatesReported: 0, retries: 0, itemsRefused: 0, itemsDroppedOverflow: 0 };
  private readonly queue: BatchItem[][] = [];
  private queuedItems = 0;
  private sending = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly gatewayId: string,
    private readonly config: GatewayConfig,
    private readonly log: Logger,
    private readonly credentials?: Credentials,
  ) {
    super();
  }

  enqueue(items: BatchItem[]): void {
    this.queue.push(items);
    this.queuedItems += items.length;
    this.dropOverflow();
    void this.pump();
  }

  get queued(): number {
    return this.queuedItems;
  }

  /** Resolves when the queue is empty (or at once if it is). */
  drained(): Promise<void> {
    return this.queuedItems === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  /** Oldest first, but never from the batch in flight: it may already be half-delivered. */
  private dropOverflow(): void {
    const index = this.sending ? 1 : 0;
    while (this.queuedItems > this.config.maxQueuedItems && index < this.queue.length) {
      const victim = this.queue[index] as BatchItem[];
      const cut = Math.min(this.queuedItems - this.config.maxQueuedItems, victim.length);
      victim.splice(0, cut);
      this.queuedItems -= cut;
      this.stats.itemsDroppedOverflow += cut;
      if (victim.length === 0) this.queue.splice(index, 1);
    }
  }

  private async pump(): Promise<void> {
    if (this.sending || this.stopped || this.retryTimer) return;
    const items = this.queue[0];
    if (!items) {
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    this.sending = true;
    try {
      await this.send(items);
      this.attempt = 0;
    } catch (error) {
      this.sending = false;
      if (error instanceof RetriableError) {
        this.stats.retries++;
        const delay = backoffDelay(this.attempt++, this.config.retry.initialMs, this.config.retry.maxMs);
        this.log.warn("edge unavailable, will retry", { error: error.message, delayMs: delay, queuedItems: this.queuedItems });
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          void this.pump();
        }, delay);
        return;
      }
      this.stats.itemsRefused += items.length;
      this.log.error("edge refused batch, dropping it", { error: errorText(error), items: items.length });
    }
    this.queue.shift();
    this.queuedItems -= items.length;
    this.sending = false;
    void this.pump();
  }

  private async send(items: BatchItem[]): Promise<void> {
    const batch: TelemetryBatch = { gatewayId: this.gatewayId, sentAt: Date.now(), items };
    let response: Response;
    try {
      const authorization: Record<string, string> = this.credentials ? { authorization: `Bearer ${await this.credentials.token()}` } : {};
      response = await fetch(new URL("/api/v1/mape/cycle", this.config.edgeUrl), {
        method: "POST",
        headers: { "content-type": "application/json", ...authorization },
        body: JSON.stringify(batch),
        signal: AbortSignal.timeout(this.config.retry.requestTimeoutMs),
      });
    } catch (error) {
      throw new RetriableError(errorText(error));
    }
    const text = await response.text().catch(() => "");
    if (response.ok) {
      const cycle = CycleResponse.safeParse(safeJson(text));
      this.stats.batchesSent++;
      this.stats.itemsSent += items.length;
      if (!cycle.success) {
        this.log.warn("edge answer not understood; batch counted as delivered", { error: cycle.error.issues[0]?.message });
        return;
      }
      this.stats.duplicatesReported += cycle.data.duplicates;
      if (cycle.data.actions.length > 0) this.emit("actions", cycle.data.actions);
      return;
    }
    const detail = `HTTP ${response.status}${response.headers.get("content-type")?.startsWith(PROBLEM_CONTENT_TYPE) ? `: ${text.slice(0, 500)}` : ""}`;
    if (response.status === 401 && this.credentials) {
      this.credentials.invalidate();
      throw new RetriableError(detail);
    }
    if (response.status >= 500 || response.status === 408 || response.status === 429) throw new RetriableError(detail);
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

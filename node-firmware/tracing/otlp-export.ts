import type { InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace";
import {
  countExport,
  emptySpanExportStats,
  fetchTransport,
  sendWithRetries,
  type ExportTransport,
  type RetryPolicy,
  type SpanExportStats,
} from "../../otlp/index.js";
import { backoffDelay } from "../lib/backoff.js";
import { sleep, systemClock, type Cancel, type Clock } from "../lib/clock.js";
import { encodeExportRequest, encodeScopeOpening, encodeSpan } from "./otlp-json.js";

export interface OtlpExportOptions {
  /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces. */
  endpoint: string;
  /** One export request's time limit. */
  timeoutMs: number;
  /** Spans waiting at most; more are dropped and counted. The SDK's BatchSpanProcessor keeps 2048. */
  maxQueuedSpans?: number;
  /** Spans per export request: a full batch goes at once, a smaller one after `delayMs`. */
  maxBatchSpans?: number;
  delayMs?: number;
  /**
   * Attempts per batch while the collector answers that it may take it later (429, 502, 503, 504)
   * or cannot be reached.
   */
  maxAttempts?: number;
  /** Times the batch delay and the retries. */
  clock?: Clock;
  /** Told once per batch that is given up on. */
  onDropped?: (spans: number, error: string) => void;
}

/** A collector that is down must not hold an agent's exit: spans not yet sent are dropped then. */
const BACKGROUND = { background: true };
const RETRY_INITIAL_MS = 1000;
const RETRY_MAX_MS = 5000;

/**
 * A batching span processor that writes each span into OTLP JSON the moment it ends and keeps
 * only those bytes until its batch goes: about 120 bytes of heap a waiting span, where the SDK's
 * BatchSpanProcessor keeps the span itself (about 900). Batches as that one does: a full batch at
 * once, the rest after a delay, one request at a time, a bounded queue whose overflow is dropped;
 * and counts what it drops.
 */
export class OtlpJsonSpanProcessor implements SpanProcessor {
  readonly stats: SpanExportStats = emptySpanExportStats();
  private readonly maxQueued: number;
  private readonly maxBatch: number;
  private readonly delayMs: number;
  private readonly retries: RetryPolicy;
  /** Encoded spans and, at the same index, the opening of their scope. */
  private spans: Buffer[] = [];
  private scopes: string[] = [];
  private readonly openings = new WeakMap<InstrumentationScope, string>();
  private cancelTimer: Cancel | undefined;
  private readonly clock: Clock;
  private sending: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly resource: Resource,
    private readonly options: OtlpExportOptions,
    private readonly transport: ExportTransport = fetchTransport(options.endpoint, options.timeoutMs),
  ) {
    this.maxQueued = options.maxQueuedSpans ?? 2048;
    this.maxBatch = Math.min(options.maxBatchSpans ?? 512, this.maxQueued);
    this.delayMs = options.delayMs ?? 5000;
    this.clock = options.clock ?? systemClock;
    this.retries = {
      maxAttempts: options.maxAttempts ?? 5,
      backoffMs: (attempt) => backoffDelay(attempt - 1, RETRY_INITIAL_MS, RETRY_MAX_MS),
      sleep: (ms) => sleep(this.clock, ms, BACKGROUND),
      stopping: () => this.closed,
    };
  }

  onStart(): void {
    // Spans are read when they end.
  }

  onEnd(span: ReadableSpan): void {
    if (this.closed) return;
    if (this.spans.length >= this.maxQueued) {
      this.stats.dropped.queue_full++;
      return;
    }
    this.spans.push(Buffer.from(encodeSpan(span)));
    this.scopes.push(this.openingOf(span.instrumentationScope));
    if (this.spans.length >= this.maxBatch) this.send();
    else
      this.cancelTimer ??= this.clock.after(
        this.delayMs,
        () => {
          this.send();
        },
        BACKGROUND,
      );
  }

  /** Sends everything waiting and resolves once it is out (or given up on). */
  async forceFlush(): Promise<void> {
    while (this.sending || this.spans.length > 0) {
      this.send();
      await this.sending;
    }
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    await this.forceFlush();
  }

  private openingOf(scope: InstrumentationScope): string {
    let opening = this.openings.get(scope);
    if (opening === undefined) {
      opening = encodeScopeOpening(scope);
      this.openings.set(scope, opening);
    }
    return opening;
  }

  /** Starts sending batches unless a request is already out (which sends on when it is done). */
  private send(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.sending ??= this.sendBatches().finally(() => {
      this.sending = undefined;
      if (this.spans.length > 0 && !this.closed)
        this.cancelTimer ??= this.clock.after(
          this.delayMs,
          () => {
            this.send();
          },
          BACKGROUND,
        );
    });
  }

  /**
   * What is waiting, as far as one batch (the caller asked for it or the delay is over), then any
   * further full batches.
   */
  private async sendBatches(): Promise<void> {
    while (this.spans.length > 0) {
      await this.sendBatch(this.takeBatch());
      if (this.spans.length < this.maxBatch && !this.closed) return;
    }
  }

  /** The oldest spans, up to a batch, as one request: their ScopeSpans in the order their scopes first appear. */
  private takeBatch(): { body: Buffer; count: number } {
    const spans = this.spans.splice(0, this.maxBatch);
    const scopes = this.scopes.splice(0, this.maxBatch);
    const byScope = new Map<string, Buffer[]>();
    spans.forEach((span, i) => {
      const opening = scopes[i] as string;
      const group = byScope.get(opening);
      if (group) group.push(span);
      else byScope.set(opening, [span]);
    });
    return { body: encodeExportRequest(this.resource, byScope), count: spans.length };
  }

  private async sendBatch({ body, count }: { body: Buffer; count: number }): Promise<void> {
    const outcome = await sendWithRetries(this.transport, body, this.retries);
    countExport(this.stats, outcome, count);
    if (!outcome.ok) this.options.onDropped?.(count, outcome.error);
  }
}

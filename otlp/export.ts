/**
 * How both halves send spans to an OTLP/HTTP collector: one request's outcome, which refusals may
 * be sent again (OTLP/HTTP: 429, 502, 503, 504, or no answer at all), and the retries.
 */

/** Why ended spans never reached the collector. */
export type SpanDropReason = "queue_full" | "export_failed";

/**
 * What became of an exporter's spans, as `x0_trace_spans_exported_total` and
 * `x0_trace_spans_dropped_total` show them.
 */
export interface SpanExportStats {
  /** Spans the collector accepted. */
  exported: number;
  dropped: Record<SpanDropReason, number>;
}

export const emptySpanExportStats = (): SpanExportStats => ({
  exported: 0,
  dropped: { queue_full: 0, export_failed: 0 },
});

/** A collector's answer to one export request. */
export type ExportOutcome = { ok: true } | { ok: false; retryable: boolean; error: string; retryAfterMs?: number };

/** What went wrong, as one line of text. */
const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Sends one export request's body (UTF-8 JSON); replaceable in tests. */
export type ExportTransport = (body: Uint8Array) => Promise<ExportOutcome>;

const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);
/** A collector that asks for a longer wait is tried again after this: meanwhile spans wait or drop. */
const RETRY_AFTER_MAX_MS = 30_000;

/** The collector's Retry-After in milliseconds (at most 30 s), when it gave one in seconds. */
export function retryAfterMs(header: string | null): number | undefined {
  const seconds = header === null || header.trim() === "" ? Number.NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, RETRY_AFTER_MAX_MS) : undefined;
}

/** POSTs OTLP/HTTP JSON with fetch (Node's or the Workers runtime's), each request within `timeoutMs`. */
export function fetchTransport(endpoint: string, timeoutMs: number): ExportTransport {
  return async (body) => {
    try {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { ok: true };
      const retryAfter = retryAfterMs(response.headers.get("retry-after"));
      return {
        ok: false,
        retryable: RETRYABLE_STATUSES.has(response.status),
        error: `collector answered HTTP ${String(response.status)}`,
        ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
      };
    } catch (error) {
      return { ok: false, retryable: true, error: errorText(error) };
    }
  };
}

export interface RetryPolicy {
  maxAttempts: number;
  /** The wait before attempt `attempt + 1` when the collector named none. */
  backoffMs(attempt: number): number;
  /** Waits out a delay (an agent's timer must not hold its process open). */
  sleep(ms: number): Promise<void>;
  /** True once the exporter is stopping: no further attempt then. */
  stopping?(): boolean;
  /**
   * A collector asking for a longer wait than this is given up on (the Worker's `waitUntil` ends 30
   * s after the response).
   */
  maxWaitMs?: number;
}

/** Counts a request's spans as exported, or as dropped because the collector would not take them. */
export function countExport(stats: SpanExportStats, outcome: ExportOutcome, spans: number): void {
  if (outcome.ok) stats.exported += spans;
  else stats.dropped.export_failed += spans;
}

/** Sends `body` until the collector takes it, refuses it for good, or the attempts run out; the last outcome. */
export async function sendWithRetries(
  transport: ExportTransport,
  body: Uint8Array,
  policy: RetryPolicy,
): Promise<ExportOutcome> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await transport(body);
    if (outcome.ok || !outcome.retryable || attempt >= policy.maxAttempts || policy.stopping?.()) return outcome;
    const wait = outcome.retryAfterMs ?? policy.backoffMs(attempt);
    if (wait > (policy.maxWaitMs ?? Infinity)) return outcome;
    await policy.sleep(wait);
  }
}

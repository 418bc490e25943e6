import {
  countExport,
  emptySpanExportStats,
  fetchTransport,
  sendWithRetries,
  type ExportTransport,
  type RetryPolicy,
  type SpanExportStats,
} from "../../otlp/index.js";
import type { Attributes, AttributeValue, FinishedSpan } from "./span.js";
import type { SpanExporter } from "./tracer.js";

const STATUS_ERROR = 2;
const SCOPE = { name: "x0tta6bl4/workers" };

function anyValue(value: AttributeValue) {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}

const keyValues = (attributes: Attributes) =>
  Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) }));
const nanos = (ms: number) => `${String(ms)}000000`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** OTLP/HTTP JSON (ExportTraceServiceRequest) for one service's spans. */
export function otlpTraceRequest(resource: Attributes, spans: readonly FinishedSpan[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: keyValues(resource) },
        scopeSpans: [
          {
            scope: SCOPE,
            spans: spans.map((span) => ({
              traceId: span.traceId,
              spanId: span.spanId,
              ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
              name: span.name,
              kind: span.kind,
              startTimeUnixNano: nanos(span.startMs),
              endTimeUnixNano: nanos(span.endMs),
              attributes: keyValues(span.attributes),
              links: span.links.map((link) => ({ traceId: link.traceId, spanId: link.spanId })),
              status: span.error === undefined ? {} : { code: STATUS_ERROR, message: span.error },
            })),
          },
        ],
      },
    ],
  };
}

/** What the isolate's exporters did with their spans, for /metrics; from zero when the isolate is recycled. */
export const spanExportStats: SpanExportStats = emptySpanExportStats();

const EXPORT_TIMEOUT_MS = 5000;
const RETRY_INITIAL_MS = 500;
/** Three attempts of at most 5 s and two waits of at most 5 s stay within `waitUntil`'s 30 s. */
const RETRY_MAX_WAIT_MS = 5000;

/**
 * Posts spans to a collector's OTLP/HTTP traces endpoint as JSON. A collector that is busy or
 * unreachable gets two more tries, 0.5 and 1 s apart or after its Retry-After (given up on when
 * that is over 5 s): the export runs in `waitUntil`, which Cloudflare ends 30 s after the
 * response. What is given up on is counted.
 */
export class OtlpHttpExporter implements SpanExporter {
  private readonly transport: ExportTransport;

  constructor(
    endpoint: string,
    private readonly resource: Attributes,
    private readonly retries: RetryPolicy = {
      maxAttempts: 3,
      backoffMs: (attempt) => RETRY_INITIAL_MS * 2 ** (attempt - 1),
      sleep,
      maxWaitMs: RETRY_MAX_WAIT_MS,
    },
    private readonly stats: SpanExportStats = spanExportStats,
  ) {
    this.transport = fetchTransport(endpoint, EXPORT_TIMEOUT_MS);
  }

  async export(spans: readonly FinishedSpan[]): Promise<void> {
    const body = new TextEncoder().encode(JSON.stringify(otlpTraceRequest(this.resource, spans)));
    const outcome = await sendWithRetries(this.transport, body, this.retries);
    countExport(this.stats, outcome, spans.length);
    if (!outcome.ok) throw new Error(outcome.error);
  }
}

/**
 * Gathers the spans of many requests into one export, sent `delayMs` after the first span or at
 * once when `maxSpans` are waiting: one POST per request would cost every request an outbound
 * fetch. The request that starts a batch holds its send in `waitUntil`; if the isolate is
 * evicted before that, the batch is lost.
 */
export class BatchingExporter implements SpanExporter {
  private pending: FinishedSpan[] = [];
  private scheduled: Promise<void> | undefined;

  constructor(
    private readonly exporter: SpanExporter,
    private readonly delayMs: number,
    private readonly maxSpans = 512,
  ) {}

  export(spans: readonly FinishedSpan[]): Promise<void> {
    this.pending.push(...spans);
    if (this.pending.length >= this.maxSpans || this.delayMs === 0) return this.send();
    this.scheduled ??= new Promise<void>((resolve) => setTimeout(resolve, this.delayMs)).then(() => this.send());
    return this.scheduled;
  }

  private send(): Promise<void> {
    const spans = this.pending;
    this.pending = [];
    this.scheduled = undefined;
    return spans.length === 0 ? Promise.resolve() : this.exporter.export(spans);
  }
}

import type { Attributes, AttributeValue, FinishedSpan } from "./span.js";
import type { SpanExporter } from "./tracer.js";

const STATUS_ERROR = 2;
const SCOPE = { name: "x0tta6bl4/workers" };

function anyValue(value: AttributeValue) {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}

const keyValues = (attributes: Attributes) => Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) }));
const nanos = (ms: number) => `${String(ms)}000000`;

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

/** Posts spans to a collector's OTLP/HTTP traces endpoint as JSON. */
export class OtlpHttpExporter implements SpanExporter {
  constructor(
    private readonly endpoint: string,
    private readonly resource: Attributes,
  ) {}

  async export(spans: readonly FinishedSpan[]): Promise<void> {
    const response = await fetch(this.endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(otlpTraceRequest(this.resource, spans)),
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`collector answered HTTP ${String(response.status)}`);
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

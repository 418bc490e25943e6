import { errorText, type SpanContext } from "../../protocol/index.js";
import { RecordedSpan, UnsampledSpan, type FinishedSpan, type Span, type SpanOptions } from "./span.js";

/** Where finished spans go: OTLP/HTTP in production, memory in tests. */
export interface SpanExporter {
  export(spans: readonly FinishedSpan[]): Promise<void>;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

function hex(bytes: number): string {
  let out = "";
  for (const b of crypto.getRandomValues(new Uint8Array(bytes))) out += HEX[b] ?? "";
  return out;
}

/**
 * One request's tracer: a small Workers-compatible stand-in for the OpenTelemetry SDK (which
 * needs Node's context and timers). Sampling is parent-based: a traced message keeps its
 * sender's choice; a new trace is recorded with probability `sampleRatio`. Spans are held until
 * `flush`, which the request hands to `waitUntil`.
 * Times come from `Date.now()`, which in Workers advances only across I/O: a span without I/O
 * inside it shows its start and end as one instant.
 */
export class Tracer {
  private finished: FinishedSpan[] = [];

  constructor(
    private readonly sampleRatio: number,
    private readonly exporter: SpanExporter | undefined,
  ) {}

  get enabled(): boolean {
    return this.exporter !== undefined;
  }

  startSpan(name: string, options: SpanOptions = {}): Span {
    const { parent } = options;
    const sampled = this.enabled && (parent ? parent.sampled : Math.random() < this.sampleRatio);
    const context: SpanContext = { traceId: parent?.traceId ?? hex(16), spanId: hex(8), sampled };
    if (!sampled) return new UnsampledSpan(context);
    return new RecordedSpan(context, name, options, (span) => this.finished.push(span));
  }

  /** Sends what has ended; never throws (a collector that is down costs those spans). */
  async flush(): Promise<void> {
    const spans = this.finished;
    this.finished = [];
    if (spans.length === 0 || !this.exporter) return;
    await this.exporter.export(spans).catch((error: unknown) => {
      console.warn(`trace export failed: ${errorText(error)}`);
    });
  }
}

import { formatTraceparent, type SpanContext } from "../../protocol/index.js";

/** OTLP's span kinds, by their numbers in the protocol. */
export const SpanKind = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

/** A span as it ended: what an exporter receives. Times are Unix milliseconds. */
export interface FinishedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: SpanKind;
  startMs: number;
  endMs: number;
  attributes: Attributes;
  links: SpanContext[];
  error?: string;
}

export interface SpanOptions {
  kind?: SpanKind;
  /** The span this one is a child of; a new trace when absent. */
  parent?: SpanContext | undefined;
  links?: readonly SpanContext[];
  attributes?: Attributes;
}

/** One operation of a trace. Not sampled: it records nothing and costs next to nothing. */
export interface Span {
  readonly context: SpanContext;
  /** W3C traceparent for whatever carries the trace on (an HTTP header, an action for a node). */
  readonly traceparent: string;
  setAttributes(attributes: Attributes): void;
  updateName(name: string): void;
  end(error?: string): void;
}

export class RecordedSpan implements Span {
  private readonly attributes: Attributes;
  private readonly startMs = Date.now();
  private ended = false;

  constructor(
    readonly context: SpanContext,
    private name: string,
    private readonly options: SpanOptions,
    private readonly onEnd: (span: FinishedSpan) => void,
  ) {
    this.attributes = { ...options.attributes };
  }

  get traceparent(): string {
    return formatTraceparent(this.context);
  }

  setAttributes(attributes: Attributes): void {
    Object.assign(this.attributes, attributes);
  }

  updateName(name: string): void {
    this.name = name;
  }

  end(error?: string): void {
    if (this.ended) return;
    this.ended = true;
    const { parent, kind = SpanKind.internal, links = [] } = this.options;
    this.onEnd({
      traceId: this.context.traceId,
      spanId: this.context.spanId,
      ...(parent ? { parentSpanId: parent.spanId } : {}),
      name: this.name,
      kind,
      startMs: this.startMs,
      endMs: Date.now(),
      attributes: this.attributes,
      links: [...links],
      ...(error === undefined ? {} : { error }),
    });
  }
}

/** A span that is not sampled: its context goes on (flag 00) so downstream does not record either. */
export class UnsampledSpan implements Span {
  constructor(readonly context: SpanContext) {}

  get traceparent(): string {
    return formatTraceparent(this.context);
  }

  setAttributes(): void {}
  updateName(): void {}
  end(): void {}
}

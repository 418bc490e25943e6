import { SpanKind, SpanStatusCode, type Attributes, type Link, type Tracer } from "@opentelemetry/api";
import { errorText } from "../lib/log.js";
import { traceparentOf } from "./propagation.js";

/** An HTTP request the agent sends, starting a trace of its own. */
export interface Request {
  name: string;
  attributes: Attributes;
  /** Links to the traces it serves, worked out only when the request is sampled. */
  links(): Link[];
}

/** A request under way, as a client span. */
export interface RequestSpan {
  /** The W3C traceparent the request carries; undefined with tracing off. */
  readonly traceparent: string | undefined;
  /** The response's status code. */
  answered(status: number): void;
  /** Ends the span, marked as failed when there was an error. */
  end(error?: unknown): void;
}

export type RequestTracer = (request: Request) => RequestSpan;

const UNTRACED: RequestSpan = { traceparent: undefined, answered: () => undefined, end: () => undefined };

/** Tracing off: the request carries no traceparent, as a no-op tracer's root span has none. */
export const untracedRequests: RequestTracer = () => UNTRACED;

/**
 * Traces each request as a root client span, sampled by its trace ID by the tracer's root
 * sampler. An unsampled request still carries its traceparent, flagged "not sampled", so the
 * server records nothing of it either.
 */
export function requestTracer(tracer: Tracer): RequestTracer {
  return (request) => {
    const span = tracer.startSpan(request.name, { kind: SpanKind.CLIENT, attributes: request.attributes, root: true });
    if (span.isRecording()) span.addLinks(request.links());
    return {
      traceparent: traceparentOf(span),
      answered: (status) => span.setAttribute("http.response.status_code", status),
      end: (error) => {
        if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(error) });
        span.end();
      },
    };
  };
}

import { SpanStatusCode, trace, type Span, type Tracer } from "@opentelemetry/api";
import { resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import {
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace";
import { RELEASE, type Role } from "../../protocol/index.js";
import { type SpanExportStats } from "../../otlp/index.js";
import { errorText, type Logger } from "../lib/log.js";
import { OtlpJsonSpanProcessor } from "./otlp-export.js";
import { passOn, passageRecorder, type PassageRecorder } from "./passage.js";
import { requestTracer, untracedRequests, type RequestTracer } from "./request.js";

export interface TracingConfig {
  /** OTLP/HTTP traces endpoint of a collector (Jaeger, Zipkin, an OTel Collector), e.g. http://127.0.0.1:4318/v1/traces. */
  endpoint: string;
  /** Share of new traces recorded (0–1); a traced message's trace follows its sender's choice. */
  sampleRatio: number;
}

/** One agent's tracer and the way to get its spans out before it exits. */
export interface Tracing {
  readonly tracer: Tracer;
  /** Records a message passing through as a span of the trace it carries. */
  readonly recordPassage: PassageRecorder;
  /** Traces an HTTP request the agent sends as a trace of its own. */
  readonly traceRequest: RequestTracer;
  /** What became of the spans sent over OTLP/HTTP; none when tracing is off or spans go to a given exporter. */
  readonly exportStats?: SpanExportStats;
  /** Exports what has ended, then stops. */
  shutdown(): Promise<void>;
}

const SCOPE = "x0tta6bl4/node-firmware";
const EXPORT_TIMEOUT_MS = 5000;
/** A collector that is down must not hold an agent's stop: what it has not taken by then is lost. */
const SHUTDOWN_BOUND_MS = 3000;
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Tracing off: the API's no-op tracer (no agent registers a global provider). Its spans record
 * nothing, and a child span keeps its parent's context, so a trace passes through unchanged.
 */
export const untraced: Tracing = {
  tracer: trace.getTracer(SCOPE),
  recordPassage: passOn,
  traceRequest: untracedRequests,
  shutdown: () => Promise.resolve(),
};

/**
 * The firmware's one tracing path: every span, the agent's own and those the gateway makes for
 * each relayed message and batch request, comes from the OpenTelemetry SDK's tracer, so sampling,
 * context and limits are the SDK's. Only the export is ours (OtlpJsonSpanProcessor, why there).
 * The agent's own tracer provider (never the global one: tests run several agents in one
 * process). Spans go over OTLP/HTTP JSON in batches; `exporter`, when given, takes them one by
 * one instead (the in-memory exporter of the tests).
 */
export function startTracing(
  identity: { nodeId: string; role: Role },
  config: TracingConfig | undefined,
  exporter?: SpanExporter,
  log?: Logger,
): Tracing {
  const resource = resourceFromAttributes({
    "service.name": `x0-${identity.role}`,
    "service.instance.id": identity.nodeId,
    "service.version": RELEASE,
  });
  const sampleRatio = config?.sampleRatio ?? 1;
  if (exporter) return tracingWith(resource, sampleRatio, new SimpleSpanProcessor({ exporter }));
  if (!config) return untraced;
  const otlp = new OtlpJsonSpanProcessor(resource, {
    endpoint: config.endpoint,
    timeoutMs: EXPORT_TIMEOUT_MS,
    onDropped: (spans, error) => {
      log?.warn("trace export failed, spans dropped", { spans, error });
    },
  });
  return { ...tracingWith(resource, sampleRatio, otlp), exportStats: otlp.stats };
}

function tracingWith(resource: Resource, sampleRatio: number, processor: SpanProcessor): Tracing {
  const sampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampleRatio) });
  const provider = new TracerProvider({ resource, sampler, spanProcessors: [processor] });
  const tracer = provider.getTracer(SCOPE, RELEASE);
  return {
    tracer,
    recordPassage: passageRecorder(tracer),
    traceRequest: requestTracer(tracer),
    shutdown: () => Promise.race([provider.shutdown(), delay(SHUTDOWN_BOUND_MS)]),
  };
}

/** Ends the span, marked as failed when there was an error. */
export function endSpan(span: Span, error?: unknown): void {
  if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(error) });
  span.end();
}

import {
  ROOT_CONTEXT,
  TraceFlags,
  isSpanContextValid,
  trace,
  type Context,
  type Link,
  type Span,
  type SpanContext,
} from "@opentelemetry/api";
import {
  TRACEPARENT,
  formatTraceparent,
  parseTraceparent,
  type SpanContext as TraceparentContext,
} from "../../protocol/index.js";

/**
 * The span's W3C traceparent, undefined when its context is invalid (a root span with tracing
 * off). With tracing off a child span has its parent's context, so a received trace goes on
 * unchanged; an unsampled span passes its "not sampled" flag on.
 */
export function traceparentOf(span: Span): string | undefined {
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (!isSpanContextValid({ traceId, spanId, traceFlags })) return undefined;
  return formatTraceparent({ traceId, spanId, sampled: (traceFlags & 1) === 1 }); // W3C sampled flag
}

/** A parsed traceparent as the OpenTelemetry API's context of a remote parent. */
export function remoteContext({ traceId, spanId, sampled }: TraceparentContext): SpanContext {
  return { traceId, spanId, traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true };
}

/** The context a received traceparent continues; the root context when there is none or it is invalid. */
export function contextOf(traceparent: string | undefined): Context {
  const parsed = traceparent === undefined ? null : parseTraceparent(traceparent);
  return parsed ? trace.setSpanContext(ROOT_CONTEXT, remoteContext(parsed)) : ROOT_CONTEXT;
}

export const childContext = (span: Span): Context => trace.setSpan(ROOT_CONTEXT, span);

/**
 * MQTT 5 publish properties that carry a sampled trace. An unsampled one is left off: nothing
 * downstream starts a trace of a message's own (the gateway and the Worker only continue traces
 * that arrive), so carrying "not sampled" would only cost every message a user property to
 * write, parse and pass on (bench:observability measured +18 % gateway CPU per message for it).
 */
export function traceProperties(traceparent: string | undefined): {
  properties?: { userProperties: Record<string, string> };
} {
  const sampled = traceparent !== undefined && parseTraceparent(traceparent)?.sampled === true;
  return sampled ? { properties: { userProperties: { [TRACEPARENT]: traceparent } } } : {};
}

interface WithUserProperties {
  properties?: { userProperties?: Record<string, string | string[]> } | undefined;
}

/** The traceparent an MQTT 5 packet carries in its user properties (the first one, when repeated). */
export function traceparentOfPacket(packet: WithUserProperties): string | undefined {
  const value = packet.properties?.userProperties?.[TRACEPARENT];
  return Array.isArray(value) ? value[0] : value;
}

/** OpenTelemetry's messaging attributes for one MQTT message. */
export function messagingAttributes(topic: string, operation: "send" | "receive" | "process") {
  return { "messaging.system": "mqtt", "messaging.destination.name": topic, "messaging.operation.type": operation };
}

/** Links to the traces of a batch's messages: one request carries many traces, so it joins none of them as a child. */
export function linksTo(traceparents: readonly (string | undefined)[], max: number): Link[] {
  const links: Link[] = [];
  for (const traceparent of traceparents) {
    const parsed = traceparent === undefined ? null : parseTraceparent(traceparent);
    if (parsed) links.push({ context: remoteContext(parsed) });
    if (links.length === max) break;
  }
  return links;
}

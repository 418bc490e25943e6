import { ROOT_CONTEXT, trace, type Context, type Link, type Span } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { TRACEPARENT } from "../../protocol/index.js";

const propagator = new W3CTraceContextPropagator();
const setter = { set: (carrier: Record<string, string>, key: string, value: string) => { carrier[key] = value; } };
const getter = {
  get: (carrier: Record<string, string>, key: string) => carrier[key],
  keys: (carrier: Record<string, string>) => Object.keys(carrier),
};

/**
 * The span's W3C traceparent, undefined when its context is invalid (a root span with tracing
 * off). With tracing off a child span has its parent's context, so a received trace goes on
 * unchanged; an unsampled span passes its "not sampled" flag on.
 */
export function traceparentOf(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, setter);
  return carrier[TRACEPARENT];
}

/** The context a received traceparent continues; the root context when there is none or it is invalid. */
export function contextOf(traceparent: string | undefined): Context {
  return traceparent === undefined ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, { [TRACEPARENT]: traceparent }, getter);
}

export const childContext = (span: Span): Context => trace.setSpan(ROOT_CONTEXT, span);

/** MQTT 5 publish properties that carry the span's trace (none when it is not recorded). */
export function traceProperties(traceparent: string | undefined): { properties?: { userProperties: Record<string, string> } } {
  return traceparent === undefined ? {} : { properties: { userProperties: { [TRACEPARENT]: traceparent } } };
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
    const context = traceparent === undefined ? undefined : trace.getSpanContext(contextOf(traceparent));
    if (context) links.push({ context });
    if (links.length === max) break;
  }
  return links;
}

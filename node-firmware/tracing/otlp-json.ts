import type { HrTime, Link, SpanContext } from "@opentelemetry/api";
import type { InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace";

/*
 * OTLP/HTTP JSON (ExportTraceServiceRequest), written span by span as each one ends. It means the
 * same JSON as @opentelemetry/otlp-transformer's JsonTraceSerializer (a test holds them equal);
 * writing it here spares the agents @opentelemetry/exporter-trace-otlp-http and what it pulls in
 * (the transformer, sdk-logs, sdk-metrics: 10 of a 93 MB production install).
 */

const SPAN_FLAGS_HAS_IS_REMOTE = 0x100;
const SPAN_FLAGS_IS_REMOTE = 0x200;
const NANOS_PER_SECOND = 1_000_000_000;

const text = (value: string) => JSON.stringify(value);

/** Nanoseconds since the epoch as the decimal string OTLP JSON carries for a 64-bit time. */
export function unixNanos([seconds, nanos]: HrTime): string {
  const whole = Math.trunc(seconds);
  const fraction = Math.trunc(nanos);
  if (whole > 0 && fraction >= 0 && fraction < NANOS_PER_SECOND)
    return `${String(whole)}${String(fraction).padStart(9, "0")}`;
  return String(BigInt(whole) * BigInt(NANOS_PER_SECOND) + BigInt(fraction));
}

function anyValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return `{"stringValue":${text(value)}}`;
    case "number":
      return Number.isInteger(value) ? `{"intValue":${String(value)}}` : `{"doubleValue":${JSON.stringify(value)}}`;
    case "boolean":
      return `{"boolValue":${String(value)}}`;
  }
  if (value instanceof Uint8Array) return `{"bytesValue":"${Buffer.from(value).toString("base64")}"}`;
  if (Array.isArray(value)) return `{"arrayValue":{"values":[${value.map(anyValue).join(",")}]}}`;
  if (typeof value === "object" && value !== null)
    return `{"kvlistValue":{"values":${keyValues(value as Record<string, unknown>)}}}`;
  return "{}";
}

function keyValues(attributes: Readonly<Record<string, unknown>>): string {
  let out = "";
  for (const key of Object.keys(attributes))
    out += `${out === "" ? "" : ","}{"key":${text(key)},"value":${anyValue(attributes[key])}}`;
  return `[${out}]`;
}

const flags = ({ traceFlags }: SpanContext, isRemote: boolean | undefined) =>
  (traceFlags & 0xff) | SPAN_FLAGS_HAS_IS_REMOTE | (isRemote ? SPAN_FLAGS_IS_REMOTE : 0);

const traceState = ({ traceState }: SpanContext) => (traceState ? `,"traceState":${text(traceState.serialize())}` : "");

function link({ context, attributes, droppedAttributesCount }: Link): string {
  return `{"attributes":${keyValues(attributes ?? {})},"spanId":"${context.spanId}","traceId":"${context.traceId}"${traceState(context)},"droppedAttributesCount":${String(droppedAttributesCount ?? 0)},"flags":${String(flags(context, context.isRemote))}}`;
}

function event({ attributes, name, time, droppedAttributesCount }: TimedEvent): string {
  return `{"attributes":${keyValues(attributes ?? {})},"name":${text(name)},"timeUnixNano":"${unixNanos(time)}","droppedAttributesCount":${String(droppedAttributesCount ?? 0)}}`;
}

function status({ code, message }: ReadableSpan["status"]): string {
  return message === undefined ? `{"code":${String(code)}}` : `{"code":${String(code)},"message":${text(message)}}`;
}

/** One span as an element of ScopeSpans.spans. */
export function encodeSpan(span: ReadableSpan): string {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  return (
    `{"traceId":"${context.traceId}","spanId":"${context.spanId}"` +
    (parent?.spanId ? `,"parentSpanId":"${parent.spanId}"` : "") +
    traceState(context) +
    `,"name":${text(span.name)},"kind":${String(span.kind + 1)}` +
    `,"startTimeUnixNano":"${unixNanos(span.startTime)}","endTimeUnixNano":"${unixNanos(span.endTime)}"` +
    `,"attributes":${keyValues(span.attributes)},"droppedAttributesCount":${String(span.droppedAttributesCount)}` +
    `,"events":[${span.events.map(event).join(",")}],"droppedEventsCount":${String(span.droppedEventsCount)}` +
    `,"status":${status(span.status)}` +
    `,"links":[${span.links.map(link).join(",")}],"droppedLinksCount":${String(span.droppedLinksCount)}` +
    `,"flags":${String(flags(context, parent?.isRemote))}}`
  );
}

/** The scope part of a ScopeSpans, up to where its spans begin. */
export function encodeScopeOpening({ name, version, schemaUrl }: InstrumentationScope): string {
  const scope = version === undefined ? `{"name":${text(name)}}` : `{"name":${text(name)},"version":${text(version)}}`;
  return `{"scope":${scope}${schemaUrl ? `,"schemaUrl":${text(schemaUrl)}` : ""},"spans":[`;
}

const COMMA = Buffer.from(",");

/**
 * The whole request of one resource's spans, each already encoded (encodeSpan, as UTF-8),
 * gathered under their scope's opening (encodeScopeOpening) in the order the scopes came.
 */
export function encodeExportRequest(resource: Resource, scopes: ReadonlyMap<string, readonly Uint8Array[]>): Buffer {
  const schemaUrl = resource.schemaUrl ? `,"schemaUrl":${text(resource.schemaUrl)}` : "";
  const parts: Uint8Array[] = [
    Buffer.from(
      `{"resourceSpans":[{"resource":{"attributes":${keyValues(resource.attributes)},"droppedAttributesCount":0${schemaUrl}},"scopeSpans":[`,
    ),
  ];
  for (const [opening, spans] of scopes) {
    parts.push(Buffer.from(`${parts.length > 1 ? "," : ""}${opening}`));
    spans.forEach((span, i) => {
      if (i > 0) parts.push(COMMA);
      parts.push(span);
    });
    parts.push(Buffer.from("]}"));
  }
  parts.push(Buffer.from(`]${schemaUrl}}]}`));
  return Buffer.concat(parts);
}

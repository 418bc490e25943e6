import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from "@opentelemetry/api";
import { TraceState } from "@opentelemetry/core";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import {
  encodeExportRequest,
  encodeScopeOpening,
  encodeSpan,
  unixNanos,
} from "../../../node-firmware/tracing/otlp-json.js";

const resource = resourceFromAttributes({
  "service.name": "x0-gateway",
  "service.instance.id": "gw-1",
  "deployment.weird": 'quote " and \\ and \u2028',
});
const PARENT = {
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
  traceState: new TraceState("vendor=a,other=b"),
};

/**
 * Spans of every shape the SDK can end: two scopes, remote and local parents, events, links,
 * errors, every attribute type.
 */
function endedSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor({ exporter });
  const provider = new TracerProvider({ resource, spanProcessors: [processor] });
  const tracer = provider.getTracer("x0tta6bl4/node-firmware", "0.1.0");
  const other = provider.getTracer("other-scope");
  const remote = trace.setSpanContext(ROOT_CONTEXT, PARENT);
  const root = tracer.startSpan("mape.cycle", {
    kind: SpanKind.INTERNAL,
    attributes: {
      text: 'a\n"b"',
      int: 42,
      negative: -7,
      double: 0.25,
      nan: Number.NaN,
      yes: true,
      no: false,
      strings: ["x", "y"],
      numbers: [1, 2.5],
      bools: [true],
      empty: [],
    },
  });
  root.addEvent("decided", { "x0.action": "switch_path", count: 3 });
  root.addEvent("bare");
  root.addLink({ context: PARENT, attributes: { reason: "batch" } });
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'edge refused: "400"' });
  root.end();
  tracer
    .startSpan(
      "mqtt receive",
      { kind: SpanKind.CONSUMER, links: [{ context: { ...PARENT, traceState: undefined, isRemote: false } }] },
      remote,
    )
    .end();
  other.startSpan("other", { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, root)).end();
  tracer
    .startSpan("ok", { kind: SpanKind.SERVER, startTime: [1_700_000_000, 5] })
    .setStatus({ code: SpanStatusCode.OK })
    .end([1_700_000_001, 999_999_999]);
  // A gateway's passage: no duration, under a remote parent.
  tracer
    .startSpan(
      "passage",
      { kind: SpanKind.PRODUCER, attributes: { "messaging.system": "mqtt" }, startTime: [1_700_000_000, 123] },
      remote,
    )
    .end([1_700_000_000, 123]);
  return exporter.getFinishedSpans();
}

/** Encodes as the exporter does: each span at its end, grouped by scope in the order scopes first appear. */
function encodeAll(spans: readonly ReadableSpan[]): string {
  const byScope = new Map<string, Buffer[]>();
  for (const span of spans) {
    const opening = encodeScopeOpening(span.instrumentationScope);
    byScope.set(opening, [...(byScope.get(opening) ?? []), Buffer.from(encodeSpan(span))]);
  }
  return encodeExportRequest(resource, byScope).toString();
}

const officialJson = (spans: ReadableSpan[]): unknown =>
  JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)));

describe("OTLP JSON written span by span", () => {
  it("means exactly what @opentelemetry/otlp-transformer's JsonTraceSerializer writes for the same spans", () => {
    const spans = endedSpans();
    expect(spans).toHaveLength(5);
    expect(JSON.parse(encodeAll(spans))).toEqual(officialJson(spans));
  });

  it("writes a span of each scope in its own ScopeSpans, and a lone span alone", () => {
    const spans = endedSpans();
    const request = JSON.parse(encodeAll(spans)) as {
      resourceSpans: { scopeSpans: { scope: { name: string }; spans: unknown[] }[] }[];
    };
    expect(request.resourceSpans[0]?.scopeSpans.map(({ scope, spans: s }) => [scope.name, s.length])).toEqual([
      ["x0tta6bl4/node-firmware", 4],
      ["other-scope", 1],
    ]);
    const lone = spans.slice(2, 3);
    expect(JSON.parse(encodeAll(lone))).toEqual(officialJson(lone));
  });

  it("turns an HrTime into the same decimal nanoseconds as BigInt arithmetic", () => {
    for (const time of [
      [0, 0],
      [0, 5],
      [1, 0],
      [1_700_000_000, 123],
      [1_700_000_000, 999_999_999],
      [4_102_444_800, 1],
    ] as const) {
      expect(unixNanos([time[0], time[1]])).toBe(String(BigInt(time[0]) * 1_000_000_000n + BigInt(time[1])));
    }
  });
});

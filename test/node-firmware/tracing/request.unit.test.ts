import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Link } from "@opentelemetry/api";
import { InMemorySpanExporter, SamplingDecision, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { parseTraceparent, type SpanContext } from "../../../protocol/index.js";
import { remoteContext } from "../../../node-firmware/tracing/propagation.js";
import { startTracing, untraced } from "../../../node-firmware/tracing/tracing.js";

const GATEWAY = { nodeId: "gw-1", role: "gateway" as const };
const ITEM_TRACE = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") as SpanContext;
const LINKS: Link[] = [{ context: remoteContext(ITEM_TRACE) }];
const request = {
  name: "POST /api/v1/mape/cycle",
  attributes: { "http.request.method": "POST", "x0.batch.items": 3 },
  links: () => LINKS,
};

describe("an HTTP request the agent sends, traced as a client span", () => {
  it("starts a trace of its own, carries its traceparent and ends as a client span with the response's status and the links", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing(GATEWAY, undefined, exporter);
    const span = tracing.traceRequest(request);
    const carried = parseTraceparent(span.traceparent ?? "");
    expect(carried?.sampled).toBe(true);
    expect(exporter.getFinishedSpans()).toEqual([]); // nothing before it ends
    span.answered(200);
    span.end();
    const [recorded, ...others] = exporter.getFinishedSpans();
    expect(others).toEqual([]);
    expect(recorded?.spanContext()).toMatchObject({ traceId: carried?.traceId, spanId: carried?.spanId });
    expect(recorded).toMatchObject({
      name: request.name,
      kind: SpanKind.CLIENT,
      links: LINKS,
      status: { code: SpanStatusCode.UNSET },
      ended: true,
    });
    expect(recorded?.attributes).toEqual({ ...request.attributes, "http.response.status_code": 200 });
    expect(recorded?.parentSpanContext).toBeUndefined();
    expect(recorded?.resource.attributes).toMatchObject({
      "service.name": "x0-gateway",
      "service.instance.id": "gw-1",
    });
    expect(tracing.traceRequest(request).traceparent).not.toBe(span.traceparent);
    await tracing.shutdown();
  });

  it("marks a failed request's span as failed, with the error", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing(GATEWAY, undefined, exporter);
    const span = tracing.traceRequest(request);
    span.answered(503);
    span.end(new Error("HTTP 503"));
    expect(exporter.getFinishedSpans()[0]).toMatchObject({
      status: { code: SpanStatusCode.ERROR, message: "HTTP 503" },
      attributes: { "http.response.status_code": 503 },
    });
    await tracing.shutdown();
  });

  it("samples by trace ID at the configured ratio, as the SDK's root sampler decides, and records only the sampled", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing(GATEWAY, { endpoint: "http://127.0.0.1:9/v1/traces", sampleRatio: 0.25 }, exporter);
    const sdkSampler = new TraceIdRatioBasedSampler(0.25);
    let linksAsked = 0;
    const carried = Array.from({ length: 4000 }, () => {
      const span = tracing.traceRequest({
        ...request,
        links: () => {
          linksAsked++;
          return LINKS;
        },
      });
      span.end();
      return parseTraceparent(span.traceparent ?? "") as SpanContext;
    });
    const sampled = carried.filter((c) => c.sampled);
    for (const { traceId, sampled: flag } of carried) {
      expect(sdkSampler.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED).toBe(
        flag,
      );
    }
    expect(sampled.length / carried.length).toBeGreaterThan(0.2);
    expect(sampled.length / carried.length).toBeLessThan(0.3);
    expect(exporter.getFinishedSpans().map((s) => s.spanContext().spanId)).toEqual(sampled.map((c) => c.spanId));
    expect(linksAsked).toBe(sampled.length); // an unsampled request never works out its links
    await tracing.shutdown();
  });

  it("with tracing off carries no traceparent", () => {
    const span = untraced.traceRequest(request);
    span.end();
    expect(span.traceparent).toBeUndefined();
  });
});

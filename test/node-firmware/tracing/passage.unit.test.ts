import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { parseTraceparent, topics, type SpanContext } from "../../../protocol/index.js";
import { messagingAttributes } from "../../../node-firmware/tracing/propagation.js";
import { startTracing, untraced } from "../../../node-firmware/tracing/tracing.js";

const GATEWAY = { nodeId: "gw-1", role: "gateway" as const };
const RECEIVED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TOPIC = topics.telemetry("node-1");
const parent = parseTraceparent(RECEIVED) as SpanContext;
const passage = {
  name: `${TOPIC} receive`,
  kind: SpanKind.CONSUMER,
  attributes: messagingAttributes(TOPIC, "receive"),
  parent,
};

describe("a message's passage through the gateway, recorded as a span", () => {
  it("continues the sender's trace as a child span of no duration, and returns the traceparent that names it", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing(GATEWAY, undefined, exporter);
    const traceparent = tracing.recordPassage(passage);
    const [span, ...others] = exporter.getFinishedSpans();
    expect(others).toEqual([]);
    expect(parseTraceparent(traceparent)).toEqual({
      traceId: parent.traceId,
      spanId: span?.spanContext().spanId,
      sampled: true,
    });
    expect(span?.spanContext().spanId).not.toBe(parent.spanId);
    expect(span).toMatchObject({
      name: `${TOPIC} receive`,
      kind: SpanKind.CONSUMER,
      attributes: passage.attributes,
      ended: true,
      duration: [0, 0],
    });
    expect(span?.parentSpanContext).toMatchObject({ traceId: parent.traceId, spanId: parent.spanId, isRemote: true });
    expect(span?.resource.attributes).toMatchObject({ "service.name": "x0-gateway", "service.instance.id": "gw-1" });
    expect(Math.abs(Number(span?.startTime[0]) - Date.now() / 1000)).toBeLessThan(5);
    expect(tracing.recordPassage(passage)).not.toBe(traceparent);
    await tracing.shutdown();
  });

  it("with tracing off records nothing and hands the sender's traceparent on unchanged", () => {
    expect(untraced.recordPassage(passage)).toBe(RECEIVED);
  });

  it("records nothing for a trace its sender did not sample, and hands it on unchanged", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing(GATEWAY, undefined, exporter);
    const unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    expect(tracing.recordPassage({ ...passage, parent: parseTraceparent(unsampled) as SpanContext })).toBe(unsampled);
    expect(exporter.getFinishedSpans()).toEqual([]);
    await tracing.shutdown();
  });
});

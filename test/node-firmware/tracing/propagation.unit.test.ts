import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { parseTraceparent } from "../../../protocol/index.js";
import {
  contextOf,
  traceparentOf,
  traceparentOfPacket,
  traceProperties,
} from "../../../node-firmware/tracing/propagation.js";
import { startTracing, untraced } from "../../../node-firmware/tracing/tracing.js";

const NODE = { nodeId: "node-1", role: "node" as const };
const RECEIVED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("trace propagation in the agent", () => {
  it("puts a recorded span's traceparent in MQTT 5 user properties and reads it back from a packet", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing(NODE, undefined, exporter);
    const span = tracing.tracer.startSpan("child", {}, contextOf(RECEIVED));
    const traceparent = traceparentOf(span) as string;
    expect(parseTraceparent(traceparent)).toMatchObject({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", sampled: true });
    const packet = traceProperties(traceparent);
    expect(traceparentOfPacket(packet)).toBe(traceparent);
    expect(traceparentOfPacket({ properties: { userProperties: { traceparent: [traceparent, RECEIVED] } } })).toBe(
      traceparent,
    );
    span.end();
    expect(
      exporter
        .getFinishedSpans()
        .map((s) => [s.name, s.parentSpanContext?.spanId, s.resource.attributes["service.name"]]),
    ).toEqual([["child", "00f067aa0ba902b7", "x0-node"]]);
    await tracing.shutdown();
  });

  it("with tracing off starts no trace, and hands a received one on unchanged", () => {
    expect(traceparentOf(untraced.tracer.startSpan("root"))).toBeUndefined();
    expect(traceparentOf(untraced.tracer.startSpan("child", {}, contextOf(RECEIVED)))).toBe(RECEIVED);
    expect(traceProperties(undefined)).toEqual({});
  });

  it("samples new traces by ratio, and carries no unsampled trace in a message: no one downstream records it", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing(NODE, { endpoint: "http://127.0.0.1:9/v1/traces", sampleRatio: 0 }, exporter);
    const root = tracing.tracer.startSpan("root");
    expect(parseTraceparent(traceparentOf(root) as string)?.sampled).toBe(false);
    expect(traceProperties(traceparentOf(root))).toEqual({});
    expect(traceProperties("00-garbage-01")).toEqual({});
    root.end();
    const child = tracing.tracer.startSpan("child", {}, contextOf(RECEIVED)); // a sampled sender's choice holds
    child.end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["child"]);
    await tracing.shutdown();
  });

  it("ignores a malformed traceparent: the span starts a trace of its own", () => {
    const tracing = startTracing(NODE, undefined, new InMemorySpanExporter());
    const span = tracing.tracer.startSpan("x", {}, contextOf("00-garbage-01"));
    expect(parseTraceparent(traceparentOf(span) as string)?.traceId).not.toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });
});

import { resourceFromAttributes } from "@opentelemetry/resources";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import { OtlpJsonSpanProcessor, type OtlpExportOptions } from "../../node-firmware/tracing/otlp-export.js";
import type { ExportTransport } from "../../otlp/index.js";

export const resource = resourceFromAttributes({ "service.name": "x0-gateway" });

/** An OTLP JSON span processor behind `transport`, and a way to end `count` spans named by their number. */
export function processorWith(options: Partial<OtlpExportOptions>, transport?: ExportTransport) {
  const endpoint = "http://127.0.0.1:9/v1/traces"; // nothing listens: a test that sends gives its own
  const processor = new OtlpJsonSpanProcessor(resource, { endpoint, timeoutMs: 1000, ...options }, transport);
  const tracer = new TracerProvider({ resource, spanProcessors: [processor] }).getTracer("test");
  let ended = 0;
  const end = (count: number) => {
    for (let i = 0; i < count; i++) tracer.startSpan(`span-${String(++ended)}`).end();
  };
  return { processor, end };
}

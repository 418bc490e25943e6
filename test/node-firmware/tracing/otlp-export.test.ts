import { resourceFromAttributes } from "@opentelemetry/resources";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { OtlpJsonSpanProcessor, type OtlpExportOptions } from "../../../node-firmware/tracing/otlp-export.js";
import { fetchTransport, type ExportOutcome, type ExportTransport } from "../../../otlp/index.js";
import { spansOfRequest, type OtlpRequest } from "../../helpers/otlp-json.js";
import { freePort } from "../../helpers/processes.js";
import { startCollector } from "../../helpers/traces.js";

const resource = resourceFromAttributes({ "service.name": "x0-gateway" });
const ENDPOINT = "http://127.0.0.1:9/v1/traces";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A processor behind `transport`, and a way to end `count` spans named by their number. */
function processorWith(options: Partial<OtlpExportOptions>, transport?: ExportTransport) {
  const processor = new OtlpJsonSpanProcessor(resource, { endpoint: ENDPOINT, timeoutMs: 1000, ...options }, transport);
  const tracer = new TracerProvider({ resource, spanProcessors: [processor] }).getTracer("test");
  let ended = 0;
  const end = (count: number) => {
    for (let i = 0; i < count; i++) tracer.startSpan(`span-${String(++ended)}`).end();
  };
  return { processor, end };
}

/** The span names each request carried. */
const namesOf = (bodies: readonly Uint8Array[]) =>
  bodies.map((body) => spansOfRequest(JSON.parse(Buffer.from(body).toString()) as OtlpRequest).map((s) => s.name));

describe("the OTLP JSON span processor", () => {
  it("sends a full batch at once and what is left after the delay, one request at a time", async () => {
    const bodies: Uint8Array[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const { processor, end } = processorWith({ maxBatchSpans: 3, delayMs: 100 }, async (body) => {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      await sleep(5);
      inFlight--;
      bodies.push(body);
      return { ok: true };
    });
    end(7);
    await sleep(50);
    expect(namesOf(bodies)).toEqual([
      ["span-1", "span-2", "span-3"],
      ["span-4", "span-5", "span-6"],
    ]);
    await sleep(150);
    expect(namesOf(bodies)).toEqual([["span-1", "span-2", "span-3"], ["span-4", "span-5", "span-6"], ["span-7"]]);
    expect(mostInFlight).toBe(1);
    expect(processor.stats).toEqual({ exported: 7, dropped: { queue_full: 0, export_failed: 0 } });
  });

  it("sends the spans of several scopes in one request that means what JsonTraceSerializer writes for them", async () => {
    const bodies: Uint8Array[] = [];
    const processor = new OtlpJsonSpanProcessor(resource, { endpoint: ENDPOINT, timeoutMs: 1000 }, (body) => {
      bodies.push(body);
      return Promise.resolve({ ok: true });
    });
    const memory = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource,
      spanProcessors: [processor, new SimpleSpanProcessor({ exporter: memory })],
    });
    const [a, b] = [provider.getTracer("scope-a", "1.0.0"), provider.getTracer("scope-b")];
    for (const tracer of [a, b, a, a, b]) tracer.startSpan("s", { attributes: { n: bodies.length } }).end();
    await processor.forceFlush();
    expect(bodies).toHaveLength(1);
    const decode = (bytes: Uint8Array): unknown => JSON.parse(Buffer.from(bytes).toString());
    expect(decode(bodies[0] as Uint8Array)).toEqual(
      decode(JsonTraceSerializer.serializeRequest(memory.getFinishedSpans()) as Uint8Array),
    );
  });

  it("drops and counts the spans that find its queue full while the collector is slow", () => {
    const { processor, end } = processorWith(
      { maxQueuedSpans: 4, maxBatchSpans: 2 },
      () => new Promise<ExportOutcome>(() => undefined),
    );
    end(10); // 2 go out, 4 wait, 4 find no room
    expect(processor.stats.dropped.queue_full).toBe(4);
  });

  it("tries a batch again while a real collector answers 503 or 429, then delivers it", async () => {
    const collector = await startCollector([503, 429]);
    try {
      const { processor, end } = processorWith({ endpoint: collector.url });
      end(3);
      await processor.forceFlush();
      expect(collector.spans.map((s) => s.name)).toEqual(["span-1", "span-2", "span-3"]);
      expect(processor.stats).toEqual({ exported: 3, dropped: { queue_full: 0, export_failed: 0 } });
    } finally {
      await collector.close();
    }
  });

  it("gives a refused batch up at once, counted and reported", async () => {
    const collector = await startCollector([400]);
    const reports: [number, string][] = [];
    try {
      const { processor, end } = processorWith({
        endpoint: collector.url,
        onDropped: (spans, error) => reports.push([spans, error]),
      });
      end(2);
      await processor.forceFlush();
      expect(reports).toEqual([[2, "collector answered HTTP 400"]]);
      expect(processor.stats.dropped.export_failed).toBe(2);
      expect(collector.requests).toEqual([]);
    } finally {
      await collector.close();
    }
  });

  it("gives up after its attempts when no collector listens", async () => {
    const endpoint = `http://127.0.0.1:${String(await freePort())}/v1/traces`;
    const outcomes: ExportOutcome[] = [];
    const transport = fetchTransport(endpoint, 1000);
    const { processor, end } = processorWith({ maxAttempts: 2 }, async (body) => {
      const outcome = await transport(body);
      outcomes.push(outcome);
      return outcome;
    });
    end(1);
    await processor.forceFlush();
    expect(outcomes).toHaveLength(2);
    expect(outcomes[0]).toMatchObject({ ok: false, retryable: true });
    expect(processor.stats.dropped.export_failed).toBe(1);
  });

  it("sends what is waiting when it shuts down, and takes nothing after", async () => {
    const bodies: Uint8Array[] = [];
    const { processor, end } = processorWith({ delayMs: 60_000 }, (body) => {
      bodies.push(body);
      return Promise.resolve({ ok: true });
    });
    end(2);
    await processor.shutdown();
    end(1);
    await processor.forceFlush();
    expect(namesOf(bodies)).toEqual([["span-1", "span-2"]]);
    expect(processor.stats.exported).toBe(2);
  });
});

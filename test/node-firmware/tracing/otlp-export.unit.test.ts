import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { OtlpJsonSpanProcessor } from "../../../node-firmware/tracing/otlp-export.js";
import type { ExportOutcome } from "../../../otlp/index.js";
import { spansOfRequest, type OtlpRequest } from "../../helpers/otlp-json.js";
import { processorWith, resource } from "../../helpers/span-processor.js";
import { ManualClock } from "../../helpers/clock.js";
import { sleep } from "../../../node-firmware/lib/clock.js";

/** The span names each request carried. */
const namesOf = (bodies: readonly Uint8Array[]) =>
  bodies.map((body) => spansOfRequest(JSON.parse(Buffer.from(body).toString()) as OtlpRequest).map((s) => s.name));

describe("the OTLP JSON span processor", () => {
  it("sends a full batch at once and what is left after the delay, one request at a time", async () => {
    const clock = new ManualClock();
    const bodies: Uint8Array[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const { processor, end } = processorWith({ maxBatchSpans: 3, delayMs: 100, clock }, async (body) => {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      await sleep(clock, 5);
      inFlight--;
      bodies.push(body);
      return { ok: true };
    });
    end(7);
    await clock.advance(10);
    expect(namesOf(bodies)).toEqual([
      ["span-1", "span-2", "span-3"],
      ["span-4", "span-5", "span-6"],
    ]);
    await clock.advance(99);
    expect(bodies).toHaveLength(2); // the last span waits out its delay, counted from the second batch's end
    await clock.advance(1 + 5); // sent at its delay's end, delivered 5 ms later
    expect(namesOf(bodies)).toEqual([["span-1", "span-2", "span-3"], ["span-4", "span-5", "span-6"], ["span-7"]]);
    expect(mostInFlight).toBe(1);
    expect(processor.stats).toEqual({ exported: 7, dropped: { queue_full: 0, export_failed: 0 } });
  });

  it("tries a busy collector's batch again after a jittered backoff (1 s, then up to 2 s), then gives it up, counted", async () => {
    const clock = new ManualClock();
    const sent: number[] = [];
    const dropped: [number, string][] = [];
    const busy: ExportOutcome = { ok: false, retryable: true, error: "collector answered HTTP 503" };
    const { processor, end } = processorWith(
      { maxAttempts: 3, clock, onDropped: (spans, error) => dropped.push([spans, error]) },
      () => {
        sent.push(clock.now());
        return Promise.resolve(busy);
      },
    );
    end(2);
    const flushed = processor.forceFlush();
    await clock.advance(0);
    expect(sent).toHaveLength(1);
    await clock.advance(60_000);
    await flushed;
    const waits = sent.slice(1).map((at, i) => at - (sent[i] as number));
    expect(waits[0]).toBe(1000);
    expect(waits[1]).toBeGreaterThanOrEqual(1000);
    expect(waits[1]).toBeLessThanOrEqual(2000);
    expect(dropped).toEqual([[2, "collector answered HTTP 503"]]);
    expect(processor.stats.dropped.export_failed).toBe(2);
  });

  it("sends the spans of several scopes in one request that means what JsonTraceSerializer writes for them", async () => {
    const bodies: Uint8Array[] = [];
    const processor = new OtlpJsonSpanProcessor(
      resource,
      { endpoint: "http://127.0.0.1:9/v1/traces", timeoutMs: 1000 },
      (body) => {
        bodies.push(body);
        return Promise.resolve({ ok: true });
      },
    );
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

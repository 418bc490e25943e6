import { describe, expect, it } from "vitest";
import { fetchTransport, type ExportOutcome } from "../../../otlp/index.js";
import { processorWith } from "../../helpers/span-processor.js";
import { freePort } from "../../helpers/processes.js";
import { startCollector } from "../../helpers/traces.js";

describe("the OTLP JSON span processor against a real collector (HTTP)", () => {
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
});

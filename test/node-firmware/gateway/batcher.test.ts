import { describe, expect, it } from "vitest";
import type { BatchItem } from "../../../protocol/index.js";
import { Batcher } from "../../../node-firmware/gateway/batcher.js";
import { telemetryItem, telemetrySample } from "../../helpers/fixtures.js";
import { waitFor } from "../../helpers/mqtt.js";

const item = (seq: number) => telemetryItem(telemetrySample("n", { seq }));

describe("Batcher", () => {
  it("flushes at the size bound", () => {
    const out: BatchItem[][] = [];
    const batcher = new Batcher({ maxItems: 3, maxDelayMs: 60_000 }, (items) => out.push(items));
    for (let i = 0; i < 7; i++) batcher.push(item(i));
    expect(out.map((b) => b.length)).toEqual([3, 3]);
    expect(batcher.pending).toBe(1);
    batcher.flush();
    expect(out.map((b) => b.length)).toEqual([3, 3, 1]);
  });

  it("flushes at the time bound, counted from the oldest item", async () => {
    const out: BatchItem[][] = [];
    const batcher = new Batcher({ maxItems: 100, maxDelayMs: 50 }, (items) => out.push(items));
    const start = Date.now();
    batcher.push(item(0));
    batcher.push(item(1));
    await waitFor(() => out.length === 1);
    expect(Date.now() - start).toBeGreaterThanOrEqual(45);
    expect(out[0]).toHaveLength(2);
  });
});

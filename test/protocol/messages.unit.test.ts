import { describe, expect, it } from "vitest";
import { TelemetryBatch, decodeNodeMessage, limits, topics } from "../../protocol/index.js";
import { batchOf, statusMessage, telemetryItem, telemetrySample } from "../helpers/fixtures.js";

const bytes = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value));

describe("decodeNodeMessage", () => {
  it("accepts valid telemetry and status", () => {
    const telemetry = decodeNodeMessage(topics.telemetry("n1"), bytes(telemetrySample("n1")));
    expect(telemetry.ok && telemetry.message.channel).toBe("telemetry");
    const status = decodeNodeMessage(topics.status("n1"), bytes(statusMessage("n1", "online")));
    expect(status.ok && status.message.channel).toBe("status");
  });

  it("reads a newer node's message, dropping the fields it does not know, so what it relays is exactly the contract", () => {
    const sample = telemetrySample("n1");
    const newer = { ...sample, radio: { channel: 36 }, process: { ...sample.process, openFiles: 12 } };
    const decoded = decodeNodeMessage(topics.telemetry("n1"), bytes(newer));
    expect(decoded.ok && decoded.message.value).toEqual(sample);
  });

  it("names the version it cannot read", () => {
    const decoded = decodeNodeMessage(topics.status("n1"), bytes({ ...statusMessage("n1", "online"), v: 3 }));
    expect(!decoded.ok && decoded.detail).toBe("v: message version 3 is not one this reader knows (it reads v 1)");
  });

  it.each([
    ["unknown-topic", "x0/v1/elsewhere", bytes({})],
    ["not-json", topics.telemetry("n1"), bytes("{nope")],
    ["not-json", topics.telemetry("n1"), Buffer.from([0xff, 0xfe, 0x7b])],
    ["schema", topics.telemetry("n1"), bytes({ ...telemetrySample("n1"), v: 2 })],
    ["schema", topics.telemetry("n1"), bytes({ ...telemetrySample("n1"), seq: -1 })],
    ["schema", topics.status("n1"), bytes(telemetrySample("n1"))],
    ["topic-mismatch", topics.telemetry("n1"), bytes(telemetrySample("n2"))],
    ["too-large", topics.telemetry("n1"), Buffer.alloc(limits.mqttPayloadBytes + 1, 0x20)],
  ] as const)("rejects %s", (reason, topic, payload) => {
    const result = decodeNodeMessage(topic, payload);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.detail.length).toBeGreaterThan(0);
    }
  });

  it("names the field of a schema failure", () => {
    const result = decodeNodeMessage(
      topics.telemetry("n1"),
      bytes(telemetrySample("n1", { neighbors: [{ neighbor: "n2", tq: 999, latencyMs: 1, loss: 0 }] })),
    );
    expect(!result.ok && result.detail).toContain("neighbors.0.tq");
  });
});

describe("TelemetryBatch", () => {
  it("bounds the batch size", () => {
    const item = telemetryItem(telemetrySample("n1"));
    expect(TelemetryBatch.safeParse(batchOf([])).success).toBe(false);
    expect(TelemetryBatch.safeParse(batchOf(Array.from({ length: limits.batchItems }, () => item))).success).toBe(true);
    expect(TelemetryBatch.safeParse(batchOf(Array.from({ length: limits.batchItems + 1 }, () => item))).success).toBe(
      false,
    );
  });
});

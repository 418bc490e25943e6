import { describe, expect, it } from "vitest";
import { TelemetryBatch, Traceparent, formatTraceparent, parseTraceparent } from "../../protocol/index.js";
import { batchOf, telemetryItem, telemetrySample } from "../helpers/fixtures.js";

const VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("W3C traceparent", () => {
  it("reads version 00 with its sampled flag and writes it back the same", () => {
    const context = parseTraceparent(VALID);
    expect(context).toEqual({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", sampled: true });
    expect(formatTraceparent(context!)).toBe(VALID);
    expect(parseTraceparent(VALID.replace(/-01$/, "-00"))?.sampled).toBe(false);
    expect(parseTraceparent(VALID.replace(/-01$/, "-03"))?.sampled).toBe(true); // other flags are not ours to read
  });

  it.each([
    ["all-zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"],
    ["all-zero span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"],
    ["upper case", VALID.toUpperCase()],
    ["version ff", VALID.replace(/^00/, "ff")],
    ["short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"],
    ["trailing data", `${VALID}-extra`],
  ])("refuses %s", (_, value) => {
    expect(parseTraceparent(value)).toBeNull();
    expect(Traceparent.safeParse(value).success).toBe(false);
  });

  it("is optional on a batch item, and a broken one fails the batch's validation", () => {
    const item = telemetryItem(telemetrySample("n-1"));
    expect(TelemetryBatch.safeParse(batchOf([item])).success).toBe(true);
    expect(TelemetryBatch.safeParse(batchOf([{ ...item, traceparent: VALID }])).success).toBe(true);
    const refused = TelemetryBatch.safeParse(batchOf([{ ...item, traceparent: "00-nope-01" }]));
    expect(refused.error?.issues[0]?.path).toEqual(["items", 0, "traceparent"]);
  });
});

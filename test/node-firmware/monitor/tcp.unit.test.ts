import { describe, expect, it } from "vitest";
import { limits } from "../../../protocol/index.js";
import { TH_RTT_BUCKETS, type DestinationHealth } from "../../../node-firmware/ebpf/tcp-health-layout.js";
import { readTcpHealth } from "../../../node-firmware/monitor/tcp.js";

/** A destination whose RTT samples all fell in log2 bucket `bucket` (µs). */
function health(destination: string, samples: number, bucket: number, retransmits = 0): DestinationHealth {
  const rttBuckets = Array.from({ length: TH_RTT_BUCKETS }, (_, b) => (b === bucket ? samples : 0));
  return { destination, retransmits, rttSamples: samples, rttBuckets };
}

describe("tcp_health in telemetry", () => {
  it("carries the busiest destinations first, at most as many as the contract allows, with their median RTT", async () => {
    const destinations = Array.from({ length: limits.sources + 4 }, (_, i) =>
      health(`10.0.0.${String(i + 1)}`, i, 10, i),
    );
    const readings = await readTcpHealth({ read: () => Promise.resolve(destinations) });
    expect(readings).toHaveLength(limits.sources);
    expect(readings[0]).toEqual({
      destination: `10.0.0.${String(limits.sources + 4)}`,
      retransmits: limits.sources + 3,
      rttSamples: limits.sources + 3,
      medianRttUs: 1024,
    });
    expect(readings.at(-1)?.rttSamples).toBe(4);
  });

  it("says null, not 0, for a destination without RTT samples yet", async () => {
    const [reading] = await readTcpHealth({ read: () => Promise.resolve([health("fd00::1", 0, 0, 2)]) });
    expect(reading).toEqual({ destination: "fd00::1", retransmits: 2, rttSamples: 0, medianRttUs: null });
  });
});

import { describe, expect, it } from "vitest";
import { groupShares, type CpuProfile } from "../../bench/lab/cpu-profile.js";

const frame = (functionName: string, url = "") => ({ functionName, url });

/** root → main (app) → prom (metrics) → format (app again); root → (idle); root → otel (tracing) */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame("(root)"), children: [2, 5, 6] },
    { id: 2, callFrame: frame("main", "file:///app/main.js"), children: [3] },
    { id: 3, callFrame: frame("metrics", "file:///app/node_modules/prom-client/lib/registry.js"), children: [4] },
    { id: 4, callFrame: frame("format", "file:///app/util.js") },
    { id: 5, callFrame: frame("(idle)") },
    { id: 6, callFrame: frame("startSpan", "file:///app/node_modules/@opentelemetry/sdk-trace/span.js") },
  ],
  startTime: 0,
  endTime: 4_000_000,
  // Samples at 1, 1.5, 2.5, 3.5 and 4 s, each taking the time since the one before: format
  // (under prom-client) before the skip, then main, format, idle and startSpan.
  samples: [4, 2, 4, 5, 6],
  timeDeltas: [1_000_000, 500_000, 1_000_000, 1_000_000, 500_000],
};

const groups = [
  { name: "metrics", matches: (url: string) => url.includes("/prom-client/") },
  { name: "tracing", matches: (url: string) => url.includes("/@opentelemetry/") },
];

describe("groupShares", () => {
  it("gives each busy sample after the skip to the innermost group on its stack, callees included", () => {
    const shares = groupShares(profile, groups, 1.2);
    expect(shares.seconds).toBeCloseTo(2.8);
    // busy after the skip: main 0.5 s, format 1 s, startSpan 0.5 s (the idle second is not busy)
    expect(shares.busyMsPerS).toBeCloseTo(2000 / 2.8);
    expect(shares.groups.metrics).toBeCloseTo(1000 / 2.8);
    expect(shares.groups.tracing).toBeCloseTo(500 / 2.8);
  });

  it("reads the whole profile without a skip", () => {
    const shares = groupShares(profile, groups);
    expect(shares.seconds).toBe(4);
    expect(shares.groups.metrics).toBeCloseTo(2000 / 4);
  });
});

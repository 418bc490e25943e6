import { afterEach, describe, expect, it, vi } from "vitest";
import { modesFromEnv, observabilityOf } from "../../bench/observe.js";

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("the benchmarks' observability modes", () => {
  it("rare is sampled with a tenth of its ratio, scraped as sampled is", () => {
    vi.stubEnv("BENCH_OTLP_ENDPOINT", "http://127.0.0.1:4318/v1/traces");
    const sampled = observabilityOf("sampled");
    const rare = observabilityOf("rare");
    expect(rare.metrics).toBe(true);
    expect(rare.tracing?.endpoint).toBe(sampled.tracing?.endpoint);
    expect(rare.tracing?.sampleRatio).toBeCloseTo((sampled.tracing?.sampleRatio ?? NaN) / 10);
  });

  it("takes rare by name and refuses a name it does not know", () => {
    vi.stubEnv("BENCH_OBSERVE", "off,sampled,rare");
    expect(modesFromEnv()).toEqual(["off", "sampled", "rare"]);
    vi.stubEnv("BENCH_OBSERVE", "off,seldom");
    expect(() => modesFromEnv()).toThrow(/not seldom/);
  });
});

import { describe, expect, it } from "vitest";
import { cronMatcher, untilNextMinute } from "../../stack/cron.js";

describe("the local stack's cron triggers", () => {
  it("match wrangler.toml's triggers at the minutes Cloudflare would run them", () => {
    const hourly = cronMatcher("17 * * * *");
    const everyMinute = cronMatcher("* * * * *");
    expect(hourly(new Date("2026-12-08T04:17:00Z"))).toBe(true);
    expect(hourly(new Date("2026-12-08T04:18:00Z"))).toBe(false);
    expect(everyMinute(new Date("2026-12-08T04:18:00Z"))).toBe(true);
    expect(cronMatcher("0 3 1 12 2")(new Date("2026-12-01T03:00:00Z"))).toBe(true);
  });

  it("refuse what they cannot run, rather than never run it", () => {
    expect(() => cronMatcher("*/5 * * * *")).toThrow(/numbers or \*/);
    expect(() => cronMatcher("* * * *")).toThrow();
  });

  it("fire at the top of the next minute", () => {
    expect(untilNextMinute(Date.parse("2026-12-08T04:17:59.500Z"))).toBe(500);
    expect(untilNextMinute(Date.parse("2026-12-08T04:18:00.000Z"))).toBe(60_000);
  });
});

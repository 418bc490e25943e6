import { describe, expect, it } from "vitest";
import { retryAfterMs, sendWithRetries, type ExportOutcome, type RetryPolicy } from "../../otlp/index.js";

const BODY = new TextEncoder().encode("{}");
const busy = (retryAfter?: number): ExportOutcome => ({
  ok: false,
  retryable: true,
  error: "collector answered HTTP 503",
  ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
});

/** A transport answering `outcomes` in turn, and a policy that records its waits instead of waiting. */
function scripted(outcomes: ExportOutcome[], policy: Partial<RetryPolicy> = {}) {
  const waits: number[] = [];
  let sent = 0;
  const transport = () => Promise.resolve(outcomes[sent++] ?? { ok: true as const });
  const retries: RetryPolicy = {
    maxAttempts: 5,
    backoffMs: (attempt) => attempt * 100,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    ...policy,
  };
  return { send: () => sendWithRetries(transport, BODY, retries), waits, sent: () => sent };
}

describe("OTLP/HTTP export retries", () => {
  it("waits as long as a collector's Retry-After asks, 30 s at most, and backs off by itself without one it can read", () => {
    expect([retryAfterMs("0"), retryAfterMs("2"), retryAfterMs("3600")]).toEqual([0, 2000, 30_000]);
    expect([
      retryAfterMs(null),
      retryAfterMs(""),
      retryAfterMs("soon"),
      retryAfterMs("-1"),
      retryAfterMs("Fri, 27 Nov 2026 22:00:00 GMT"),
    ]).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it("sends again after the collector's Retry-After or else the backoff, until it takes the request", async () => {
    const run = scripted([busy(), busy(2000), busy()]);
    expect(await run.send()).toEqual({ ok: true });
    expect(run.sent()).toBe(4);
    expect(run.waits).toEqual([100, 2000, 300]);
  });

  it("stops at a refusal that must not be sent again, when the attempts run out, when the exporter is stopping, and at a wait longer than it may take", async () => {
    const refused: ExportOutcome = { ok: false, retryable: false, error: "collector answered HTTP 400" };
    const once = scripted([refused]);
    expect(await once.send()).toEqual(refused);
    expect([once.sent(), once.waits.length]).toEqual([1, 0]);
    const outOfAttempts = scripted([busy(), busy(), busy()], { maxAttempts: 3 });
    expect(await outOfAttempts.send()).toMatchObject({ ok: false, retryable: true });
    expect(outOfAttempts.sent()).toBe(3);
    const stopping = scripted([busy(), busy()], { stopping: () => true });
    expect(await stopping.send()).toMatchObject({ ok: false });
    expect(stopping.sent()).toBe(1);
    const tooLong = scripted([busy(500), busy(6000)], { maxWaitMs: 5000 });
    expect(await tooLong.send()).toMatchObject({ ok: false, retryAfterMs: 6000 });
    expect([tooLong.sent(), tooLong.waits]).toEqual([2, [500]]);
  });
});

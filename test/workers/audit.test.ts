import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index.js";
import { AUDIT_LIMITS, audit, boundedDetail } from "../../workers/audit/log.js";
import { openDatabase } from "../../workers/db/client.js";

const DAY_MS = 86_400_000;

describe("audit log bounds and retention", () => {
  it("bounds what one row holds: keys, strings, lists, nesting and the whole", async () => {
    const hostile = {
      ["k".repeat(10_000)]: "v".repeat(1_000_000),
      list: Array.from({ length: 1000 }, (_, i) => i),
      deep: { a: { b: { c: { d: "too deep" } } } },
      ...Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`key${String(i)}`, "x".repeat(300)])),
    };
    const detail = boundedDetail(hostile);
    expect(JSON.stringify(detail).length).toBeLessThanOrEqual(AUDIT_LIMITS.detailChars);
    await audit(openDatabase(env.DB), {
      actor: "a".repeat(100_000),
      action: "test.bounds",
      outcome: "denied",
      detail: hostile,
    });
    const row = await env.DB.prepare(
      "SELECT length(actor) AS actor, length(detail) AS detail FROM audit_log WHERE action = 'test.bounds'",
    ).first<{ actor: number; detail: number }>();
    expect(row?.actor).toBeLessThanOrEqual(AUDIT_LIMITS.fieldChars);
    expect(row?.detail).toBeLessThanOrEqual(AUDIT_LIMITS.detailChars);
  });

  it("prunes audit rows and refusal counters older than AUDIT_RETENTION_DAYS on its cron trigger, and keeps the rest", async () => {
    const now = Date.now();
    const old = now - 91 * DAY_MS;
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO audit_log (ts, actor, action, outcome) VALUES (?, 'x', 'test.old', 'success'), (?, 'x', 'test.recent', 'success')",
      ).bind(old, now),
      env.DB.prepare(
        "INSERT INTO refusals (window_start, reason, source, count) VALUES (?, 'test.old', 's', 1), (?, 'test.recent', 's', 1)",
      ).bind(old, now),
    ]);
    const ctx = createExecutionContext();
    worker.scheduled(createScheduledController({ scheduledTime: now, cron: "17 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const audits = await env.DB.prepare("SELECT action FROM audit_log WHERE action LIKE 'test.%' ORDER BY action").all<{
      action: string;
    }>();
    const counters = await env.DB.prepare("SELECT reason FROM refusals WHERE reason LIKE 'test.%'").all<{
      reason: string;
    }>();
    expect(audits.results.map((r) => r.action)).not.toContain("test.old");
    expect(audits.results.map((r) => r.action)).toContain("test.recent");
    expect(counters.results.map((r) => r.reason)).toEqual(["test.recent"]);
  });
});

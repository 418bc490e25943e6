import { openDatabase } from "../db/client.js";
import type { Env } from "../env.js";
import { pruneAudit } from "./log.js";

const DAY_MS = 86_400_000;
export const DEFAULT_AUDIT_RETENTION_DAYS = 90;

/** `AUDIT_RETENTION_DAYS`, a positive number of days (default 90). */
export function auditRetentionMs(env: Env): number {
  const raw = env.AUDIT_RETENTION_DAYS;
  if (raw === undefined || raw === "") return DEFAULT_AUDIT_RETENTION_DAYS * DAY_MS;
  const days = Number(raw);
  if (!Number.isFinite(days) || days <= 0)
    throw new Error(`AUDIT_RETENTION_DAYS must be a positive number of days, got "${raw}"`);
  return days * DAY_MS;
}

/** The cron trigger (wrangler.toml `[triggers]`): audit rows and refusal counters past the retention go. */
export async function scheduledRetention(env: Env, now: number): Promise<void> {
  const pruned = await pruneAudit(openDatabase(env.DB), auditRetentionMs(env), now);
  if (pruned.audit + pruned.refusals > 0) console.log(JSON.stringify({ msg: "audit retention", ...pruned }));
}

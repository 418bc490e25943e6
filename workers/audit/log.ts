import { lt, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { auditLog, refusals } from "../db/schema.js";

export interface AuditEntry {
  actor: string;
  action: string;
  subject?: string | null;
  outcome: "success" | "denied" | "error";
  detail?: Record<string, unknown>;
}

/** Bounds of what one audit row may hold, whatever a request sent: keys, strings, lists, nesting and the whole. */
export const AUDIT_LIMITS = {
  keys: 16,
  keyChars: 64,
  stringChars: 256,
  items: 10,
  depth: 3,
  detailChars: 2048,
  fieldChars: 256,
} as const;

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function bounded(value: unknown, depth: number): unknown {
  if (typeof value === "string") return clip(value, AUDIT_LIMITS.stringChars);
  if (value === null || typeof value !== "object")
    return typeof value === "function" || typeof value === "symbol" ? undefined : value;
  if (depth >= AUDIT_LIMITS.depth) return "…";
  if (Array.isArray(value)) return value.slice(0, AUDIT_LIMITS.items).map((v) => bounded(v, depth + 1));
  const entries = Object.entries(value as Record<string, unknown>).slice(0, AUDIT_LIMITS.keys);
  return Object.fromEntries(entries.map(([k, v]) => [clip(k, AUDIT_LIMITS.keyChars), bounded(v, depth + 1)]));
}

/** An audit detail cut to the limits; one that is still too long as JSON is replaced by its clipped text. */
export function boundedDetail(detail: Record<string, unknown>): Record<string, unknown> {
  const cut = bounded(detail, 0) as Record<string, unknown>;
  const json = JSON.stringify(cut);
  if (json.length <= AUDIT_LIMITS.detailChars) return cut;
  // Escaping lengthens the clipped text inside JSON: clip further until the whole fits.
  for (let chars = AUDIT_LIMITS.detailChars - 32; ; chars -= 128) {
    const truncated = { truncated: clip(json, chars) };
    if (JSON.stringify(truncated).length <= AUDIT_LIMITS.detailChars) return truncated;
  }
}

export const auditStatement = (db: Database, entry: AuditEntry, now = Date.now()) =>
  db.insert(auditLog).values({
    ts: now,
    actor: clip(entry.actor, AUDIT_LIMITS.fieldChars),
    action: clip(entry.action, AUDIT_LIMITS.fieldChars),
    subject: entry.subject == null ? null : clip(entry.subject, AUDIT_LIMITS.fieldChars),
    outcome: entry.outcome,
    detail: entry.detail ? boundedDetail(entry.detail) : null,
  });

export async function audit(db: Database, entry: AuditEntry): Promise<void> {
  await auditStatement(db, entry);
}

/** Refusals are counted per reason and source in windows of this length. */
export const REFUSAL_WINDOW_MS = 60_000;

export interface Refusal {
  reason: string;
  /** Who it came from: an address for anonymous requests, a node id for relayed items. */
  source: string;
  count?: number;
  /** The latest refusal's detail, kept (bounded) as an example of the window's refusals. */
  detail?: string;
}

/** One counter row per reason, source and window; a refusal adds to it instead of writing a row. */
export const refusalUpsert = (db: Database, refusal: Refusal, now = Date.now()) =>
  db
    .insert(refusals)
    .values({
      windowStart: Math.floor(now / REFUSAL_WINDOW_MS) * REFUSAL_WINDOW_MS,
      reason: clip(refusal.reason, 64),
      source: clip(refusal.source, 64),
      count: refusal.count ?? 1,
      lastDetail: refusal.detail === undefined ? null : clip(refusal.detail, AUDIT_LIMITS.stringChars),
    })
    .onConflictDoUpdate({
      target: [refusals.windowStart, refusals.reason, refusals.source],
      set: { count: sql`${refusals.count} + excluded.count`, lastDetail: sql`excluded.last_detail` },
    });

export async function recordRefusal(db: Database, refusal: Refusal, now = Date.now()): Promise<void> {
  await refusalUpsert(db, refusal, now);
}

/** Deletes audit rows and refusal counters older than the retention; returns how many of each went. */
export async function pruneAudit(
  db: Database,
  retentionMs: number,
  now: number,
): Promise<{ audit: number; refusals: number }> {
  const before = now - retentionMs;
  const [audits, counters] = await db.batch([
    db.delete(auditLog).where(lt(auditLog.ts, before)).returning({ id: auditLog.id }),
    db.delete(refusals).where(lt(refusals.windowStart, before)).returning({ reason: refusals.reason }),
  ]);
  return { audit: audits.length, refusals: counters.length };
}

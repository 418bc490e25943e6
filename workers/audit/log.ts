import type { Database } from "../db/client.js";
import { auditLog } from "../db/schema.js";

export interface AuditEntry {
  actor: string;
  action: string;
  subject?: string | null;
  outcome: "success" | "denied" | "error";
  detail?: Record<string, unknown>;
}

export const auditStatement = (db: Database, entry: AuditEntry, now = Date.now()) =>
  db.insert(auditLog).values({
    ts: now,
    actor: entry.actor,
    action: entry.action,
    subject: entry.subject ?? null,
    outcome: entry.outcome,
    detail: entry.detail ?? null,
  });

export async function audit(db: Database, entry: AuditEntry): Promise<void> {
  await auditStatement(db, entry);
}

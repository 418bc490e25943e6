import { gte, isNotNull, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { auditLog, decisions, issuedSvids, links, nodes, refusals, revocations } from "../db/schema.js";

/** Links by TQ band: what a dashboard colours green, amber and red. */
const BAND = sql<string>`CASE WHEN ${links.tq} >= 200 THEN 'good' WHEN ${links.tq} >= 100 THEN 'fair' ELSE 'poor' END`;
const STATUS = (staleBefore: number) =>
  sql<string>`CASE WHEN ${nodes.status} = 'online' AND ${nodes.lastSeen} < ${staleBefore} THEN 'stale' ELSE ${nodes.status} END`;

/** The mesh as D1 holds it, reduced to the counts `/metrics` reports. One round trip per query, run together. */
export async function meshCounts(db: Database, staleBefore: number, linksSince: number) {
  const [byStatus, byBand, byDecision, issued, revoked, audits, samples, verdicts, refused] = await Promise.all([
    db
      .select({ status: STATUS(staleBefore), n: sql<number>`count(*)` })
      .from(nodes)
      .groupBy(STATUS(staleBefore)),
    db
      .select({ band: BAND, n: sql<number>`count(*)` })
      .from(links)
      .where(gte(links.updatedAt, linksSince))
      .groupBy(BAND),
    db
      .select({
        kind: decisions.kind,
        outcome: sql<string>`coalesce(${decisions.outcome}, 'pending')`,
        n: sql<number>`count(*)`,
      })
      .from(decisions)
      .groupBy(decisions.kind, sql`coalesce(${decisions.outcome}, 'pending')`),
    db
      .select({ n: sql<number>`count(*)` })
      .from(issuedSvids)
      .get(),
    db
      .select({ n: sql<number>`count(*)` })
      .from(revocations)
      .get(),
    db
      .select({ action: auditLog.action, outcome: auditLog.outcome, n: sql<number>`count(*)` })
      .from(auditLog)
      .groupBy(auditLog.action, auditLog.outcome),
    db
      .select({
        stored: sql<number>`coalesce(sum(${nodes.samplesStored}), 0)`,
        missing: sql<number>`coalesce(sum(${nodes.samplesMissing}), 0)`,
      })
      .from(nodes)
      .get(),
    db
      .select({ verdict: sql<string>`${decisions.verdict}`, n: sql<number>`count(*)` })
      .from(decisions)
      .where(isNotNull(decisions.verdict))
      .groupBy(decisions.verdict),
    db
      .select({ reason: refusals.reason, n: sql<number>`sum(${refusals.count})` })
      .from(refusals)
      .groupBy(refusals.reason),
  ]);
  return {
    byStatus,
    byBand,
    byDecision,
    issued: issued?.n ?? 0,
    revoked: revoked?.n ?? 0,
    audits,
    samples: samples ?? { stored: 0, missing: 0 },
    verdicts,
    refused,
  };
}

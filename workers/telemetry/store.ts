import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { BatchItem as BatchStatement } from "drizzle-orm/batch";
import { itemNodeId, type BatchItem } from "../../protocol/index.js";
import { chunkRows } from "../db/chunk.js";
import { runBatch, type Database } from "../db/client.js";
import { actionResults, decisions, links, nodes, telemetryRollups } from "../db/schema.js";
import type { IngestPlan, KnownNode } from "./ingest.js";

export async function loadKnownNodes(db: Database, items: readonly BatchItem[]): Promise<Map<string, KnownNode>> {
  const ids = [...new Set(items.filter((i) => i.kind !== "result").map(itemNodeId))];
  const known = new Map<string, KnownNode>();
  for (const chunk of chunkRows(
    ids.map((id) => ({ id })),
    1,
  )) {
    const rows = await db
      .select({
        id: nodes.id,
        firstSeen: nodes.firstSeen,
        lastSeen: nodes.lastSeen,
        lastTelemetryTs: nodes.lastTelemetryTs,
        lastTelemetrySeq: nodes.lastTelemetrySeq,
      })
      .from(nodes)
      .where(
        inArray(
          nodes.id,
          chunk.map((c) => c.id),
        ),
      );
    for (const { id, ...state } of rows) known.set(id, state);
  }
  return known;
}

const excluded = (column: string) => sql.raw(`excluded.${column}`);

/** Writes a plan, and any statements that belong with it, in one D1 batch: D1 runs it as a single transaction. */
export async function writePlan(
  db: Database,
  plan: IngestPlan,
  alongside: readonly BatchStatement<"sqlite">[] = [],
): Promise<void> {
  const statements = [
    ...chunkRows(plan.nodes, 11).map((rows) =>
      db
        .insert(nodes)
        .values(rows)
        .onConflictDoUpdate({
          target: nodes.id,
          set: {
            spiffeId: excluded("spiffe_id"),
            role: excluded("role"),
            status: excluded("status"),
            firmwareVersion: excluded("firmware_version"),
            lastSeen: sql`max(${nodes.lastSeen}, excluded.last_seen)`,
            lastTelemetryTs: sql`max(coalesce(${nodes.lastTelemetryTs}, 0), coalesce(excluded.last_telemetry_ts, 0))`,
            lastTelemetrySeq: sql`CASE WHEN coalesce(excluded.last_telemetry_ts, 0) >= coalesce(${nodes.lastTelemetryTs}, 0) THEN excluded.last_telemetry_seq ELSE ${nodes.lastTelemetrySeq} END`,
            samplesStored: sql`${nodes.samplesStored} + excluded.samples_stored`,
            samplesMissing: sql`${nodes.samplesMissing} + excluded.samples_missing`,
          },
        }),
    ),
    ...chunkRows(plan.links, 6).map((rows) =>
      db
        .insert(links)
        .values(rows)
        .onConflictDoUpdate({
          target: [links.fromNode, links.toNode],
          set: {
            tq: excluded("tq"),
            latencyMs: excluded("latency_ms"),
            loss: excluded("loss"),
            updatedAt: excluded("updated_at"),
          },
          setWhere: sql`excluded.updated_at >= ${links.updatedAt}`,
        }),
    ),
    ...plan.results.flatMap((r) => (r.decisionId ? resultStatements(db, { ...r, decisionId: r.decisionId }) : [])),
    ...chunkRows(plan.rollups, 13).map((rows) =>
      db
        .insert(telemetryRollups)
        .values(rows)
        .onConflictDoUpdate({
          target: [telemetryRollups.nodeId, telemetryRollups.minute],
          set: {
            samples: sql`${telemetryRollups.samples} + excluded.samples`,
            linkSamples: sql`${telemetryRollups.linkSamples} + excluded.link_samples`,
            tqSum: sql`${telemetryRollups.tqSum} + excluded.tq_sum`,
            latencyMsSum: sql`${telemetryRollups.latencyMsSum} + excluded.latency_ms_sum`,
            lossSum: sql`${telemetryRollups.lossSum} + excluded.loss_sum`,
            rxBytes: sql`max(${telemetryRollups.rxBytes}, excluded.rx_bytes)`,
            txBytes: sql`max(${telemetryRollups.txBytes}, excluded.tx_bytes)`,
            rxDropped: sql`max(${telemetryRollups.rxDropped}, excluded.rx_dropped)`,
            txDropped: sql`max(${telemetryRollups.txDropped}, excluded.tx_dropped)`,
            rssBytesMax: sql`max(${telemetryRollups.rssBytesMax}, excluded.rss_bytes_max)`,
            cpuPercentSum: sql`${telemetryRollups.cpuPercentSum} + excluded.cpu_percent_sum`,
          },
        }),
    ),
  ];
  await runBatch(db, [...statements, ...alongside]);
}

/** Results kept per decision: enough for every retry a node makes, bounded against one that repeats itself. */
export const MAX_RESULTS_PER_DECISION = 16;

/**
 * A decision's outcome moves one way only: from pending (null) to the first result's outcome,
 * then never again. Every result, the first, a late one or a repeat, is kept beside it in
 * `action_results`, for a decision of that node only and up to a bound per decision.
 */
function resultStatements(db: Database, r: IngestPlan["results"][number] & { decisionId: string }) {
  return [
    db.insert(actionResults).select(
      db
        .select({
          id: sql<number>`NULL`.as("id"),
          decisionId: decisions.id,
          nodeId: sql<string>`${r.nodeId}`.as("node_id"),
          actionId: sql<string | null>`${r.actionId ?? null}`.as("action_id"),
          outcome: sql<string>`${r.outcome}`.as("outcome"),
          reason: sql<string | null>`${r.reason ?? null}`.as("reason"),
          ts: sql<number>`${r.ts}`.as("ts"),
        })
        .from(decisions)
        .where(
          and(
            eq(decisions.id, r.decisionId),
            eq(decisions.nodeId, r.nodeId),
            sql`(SELECT count(*) FROM ${actionResults} WHERE ${actionResults.decisionId} = ${r.decisionId}) < ${MAX_RESULTS_PER_DECISION}`,
          ),
        ),
    ),
    db
      .update(decisions)
      .set({ outcome: r.outcome, outcomeAt: r.ts })
      .where(and(eq(decisions.id, r.decisionId), eq(decisions.nodeId, r.nodeId), isNull(decisions.outcome))),
  ];
}

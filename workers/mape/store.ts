import { and, desc, eq, gte, inArray, isNotNull, isNull, lte, sql, type SQL } from "drizzle-orm";
import { chunkRows } from "../db/chunk.js";
import type { Database } from "../db/client.js";
import { decisions, linkBaselines, nodes } from "../db/schema.js";
import { baselineKey, type Baseline, type Metric } from "./analyze.js";
import type { RecentActions } from "./plan.js";

export async function loadBaselines(db: Database, fromNodes: string[]): Promise<Map<string, Baseline>> {
  const map = new Map<string, Baseline>();
  for (const chunk of chunkRows(
    fromNodes.map((id) => ({ id })),
    1,
  )) {
    const rows = await db
      .select()
      .from(linkBaselines)
      .where(
        inArray(
          linkBaselines.fromNode,
          chunk.map((c) => c.id),
        ),
      );
    for (const r of rows)
      map.set(baselineKey(r.fromNode, r.toNode, r.metric), {
        mean: r.mean,
        deviation: r.deviation,
        samples: r.samples,
        threshold: r.threshold,
      });
  }
  return map;
}

export function baselineUpserts(db: Database, baselines: ReadonlyMap<string, Baseline>, now: number) {
  const rows = [...baselines].map(([key, b]) => {
    const [pair, metric] = key.split("#") as [string, Metric];
    const [fromNode, toNode] = pair.split(">") as [string, string];
    return { fromNode, toNode, metric, mean: b.mean, deviation: b.deviation, samples: b.samples, updatedAt: now };
  });
  // Many rows a statement: D1 bills and limits statements, not rows.
  return chunkRows(rows, 7).map((chunk) =>
    db
      .insert(linkBaselines)
      .values(chunk)
      .onConflictDoUpdate({
        target: [linkBaselines.fromNode, linkBaselines.toNode, linkBaselines.metric],
        // The threshold is Knowledge feedback's to change (`thresholdFeedback`), never the detector's.
        set: {
          mean: sql.raw("excluded.mean"),
          deviation: sql.raw("excluded.deviation"),
          samples: sql.raw("excluded.samples"),
          updatedAt: sql.raw("excluded.updated_at"),
        },
      }),
  );
}

/** Guard-rail state, and the open "suppressed" row per target, where repeats of that anomaly are counted. */
export interface RecentDecisions extends RecentActions {
  /** target → id of the suppressed-cooldown row recorded since the target's last action */
  suppressedRowByTarget: Map<string, string>;
}

/** Actions sent, and reflexes nodes took, since `since`, for the cooldown and per-node rate guard rails. */
export async function recentActions(
  db: Database,
  nodeIds: readonly string[],
  since: number,
  minuteAgo: number,
): Promise<RecentDecisions> {
  const rows: { id: string; ts: number; nodeId: string | null; target: string; disposition: string }[] = [];
  // By node first: the (node_id, ts) index keeps this a range scan however large the table grows.
  // Chunks of 50 ids: with the time bound they stay well inside D1's 100 bound parameters.
  for (const chunk of chunkRows(
    nodeIds.map((id) => ({ id })),
    2,
  )) {
    rows.push(
      ...(await db
        .select({
          id: decisions.id,
          ts: decisions.ts,
          nodeId: decisions.nodeId,
          target: sql<string>`json_extract(${decisions.what}, '$.target')`,
          disposition: sql<string>`json_extract(${decisions.what}, '$.disposition')`,
        })
        .from(decisions)
        .where(
          and(
            inArray(
              decisions.nodeId,
              chunk.map((c) => c.id),
            ),
            gte(decisions.ts, Math.min(since, minuteAgo)),
            sql`json_extract(${decisions.what}, '$.disposition') IN ('send', 'reflex', 'suppressed-cooldown')`,
          ),
        )),
    );
  }
  const lastAtByTarget = new Map<string, number>();
  const countLastMinuteByNode = new Map<string, number>();
  for (const r of rows) {
    if (r.disposition === "suppressed-cooldown") continue;
    if (r.ts >= since) lastAtByTarget.set(r.target, Math.max(r.ts, lastAtByTarget.get(r.target) ?? 0));
    if (r.ts >= minuteAgo && r.nodeId)
      countLastMinuteByNode.set(r.nodeId, (countLastMinuteByNode.get(r.nodeId) ?? 0) + 1);
  }
  const suppressedRowByTarget = new Map<string, string>();
  const newest = new Map<string, number>();
  for (const r of rows) {
    if (
      r.disposition !== "suppressed-cooldown" ||
      r.ts < since ||
      r.ts < (lastAtByTarget.get(r.target) ?? 0) ||
      r.ts < (newest.get(r.target) ?? 0)
    )
      continue;
    newest.set(r.target, r.ts);
    suppressedRowByTarget.set(r.target, r.id);
  }
  return { lastAtByTarget, countLastMinuteByNode, suppressedRowByTarget };
}

/** One more sighting of an anomaly the cooldown suppressed: counted on its row rather than a row each. */
export const suppressedRepeat = (db: Database, id: string, now: number) =>
  db
    .update(decisions)
    .set({
      what: sql`json_set(${decisions.what}, '$.repeats', coalesce(json_extract(${decisions.what}, '$.repeats'), 1) + 1, '$.lastSeenAt', ${now})`,
    })
    .where(eq(decisions.id, id));

/**
 * Sources isolated (by the edge or a node's reflex) within the last `ttlMs`, and the mesh's size,
 * for the isolation-share guard rail.
 */
export async function isolationState(db: Database, since: number): Promise<{ sources: Set<string>; meshSize: number }> {
  const [isolated, size] = await Promise.all([
    db
      .selectDistinct({ source: sql<string>`json_extract(${decisions.what}, '$.params.source')` })
      .from(decisions)
      .where(
        and(
          gte(decisions.ts, since),
          eq(decisions.kind, "isolate_source"),
          sql`json_extract(${decisions.what}, '$.disposition') IN ('send', 'reflex')`,
        ),
      ),
    db
      .select({ n: sql<number>`count(*)` })
      .from(nodes)
      .get(),
  ]);
  return { sources: new Set(isolated.map((r) => r.source)), meshSize: size?.n ?? 0 };
}

/** node_down decisions per node since `since`. */
export async function recentDowns(
  db: Database,
  nodeIds: readonly string[],
  since: number,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const chunk of chunkRows(
    nodeIds.map((id) => ({ id })),
    2,
  )) {
    const rows = await db
      .select({ nodeId: decisions.nodeId, n: sql<number>`count(*)` })
      .from(decisions)
      .where(
        and(
          inArray(
            decisions.nodeId,
            chunk.map((c) => c.id),
          ),
          eq(decisions.kind, "node_down"),
          gte(decisions.ts, since),
        ),
      )
      .groupBy(decisions.nodeId);
    for (const r of rows) if (r.nodeId) counts.set(r.nodeId, r.n);
  }
  return counts;
}

export const decisionInsert = (db: Database, row: typeof decisions.$inferInsert) => db.insert(decisions).values(row);

export interface DecisionFilter {
  nodeId?: string;
  kind?: string;
  since?: number;
  limit: number;
}

export async function listDecisions(db: Database, filter: DecisionFilter) {
  const where: SQL[] = [];
  if (filter.nodeId) where.push(eq(decisions.nodeId, filter.nodeId));
  if (filter.kind) where.push(eq(decisions.kind, filter.kind));
  if (filter.since !== undefined) where.push(gte(decisions.ts, filter.since));
  return db
    .select()
    .from(decisions)
    .where(and(...where))
    .orderBy(desc(decisions.ts))
    .limit(filter.limit);
}

/** Applied actions old enough to judge and not judged yet. */
export async function actionsToJudge(db: Database, appliedBefore: number, limit = 50) {
  return db
    .select()
    .from(decisions)
    .where(
      and(
        eq(decisions.outcome, "applied"),
        isNull(decisions.verdict),
        lte(decisions.outcomeAt, appliedBefore),
        sql`json_extract(${decisions.what}, '$.disposition') = 'send'`,
      ),
    )
    .limit(limit);
}

/**
 * Decisions about `target` (anomalies seen again, suppressed or not) between two times; a flood the
 * node already blocks is not one. A suppressed row counts when it was last seen in the window too.
 */
export async function decisionsOnTarget(
  db: Database,
  nodeId: string,
  target: string,
  after: number,
  before: number,
): Promise<number> {
  const row = await db
    .select({ n: sql<number>`count(*)` })
    .from(decisions)
    .where(
      and(
        eq(decisions.nodeId, nodeId),
        sql`((${decisions.ts} BETWEEN ${after} AND ${before}) OR (json_extract(${decisions.what}, '$.lastSeenAt') BETWEEN ${after} AND ${before}))`,
        sql`json_extract(${decisions.what}, '$.target') = ${target}`,
        sql`json_extract(${decisions.what}, '$.disposition') != 'reflex'`,
        sql`coalesce(json_extract(${decisions.inputs}, '$.blocked'), 0) = 0`,
      ),
    )
    .get();
  return row?.n ?? 0;
}

export const verdictUpdate = (db: Database, id: string, verdict: "recovered" | "not-recovered", now: number) =>
  db.update(decisions).set({ verdict, verdictAt: now }).where(eq(decisions.id, id));

/** Moves one link's threshold by `factor`, from the default when it has none yet, within [min, max]. */
export const thresholdFeedback = (
  db: Database,
  link: { fromNode: string; toNode: string; metric: Metric },
  factor: number,
  bounds: { initial: number; min: number; max: number },
) =>
  db
    .update(linkBaselines)
    .set({
      threshold: sql`min(${bounds.max}, max(${bounds.min}, coalesce(${linkBaselines.threshold}, ${bounds.initial}) * ${factor}))`,
    })
    .where(
      and(
        eq(linkBaselines.fromNode, link.fromNode),
        eq(linkBaselines.toNode, link.toNode),
        eq(linkBaselines.metric, link.metric),
      ),
    );

export async function knowledgeSummary(db: Database) {
  const verdicts = await db
    .select({ verdict: decisions.verdict, n: sql<number>`count(*)` })
    .from(decisions)
    .where(sql`json_extract(${decisions.what}, '$.disposition') = 'send'`)
    .groupBy(decisions.verdict);
  const tuned = await db.select().from(linkBaselines).where(isNotNull(linkBaselines.threshold)).limit(200);
  return { verdicts, tuned };
}

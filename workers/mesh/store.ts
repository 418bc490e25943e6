import { and, asc, eq, gte, lt, type SQL } from "drizzle-orm";
import type { MeshLink, MeshNode, MeshNodeStatus } from "../../protocol/index.js";
import type { Database } from "../db/client.js";
import { links, nodes } from "../db/schema.js";

const iso = (ms: number) => new Date(ms).toISOString();

function statusFilter(status: MeshNodeStatus, staleBefore: number): SQL | undefined {
  switch (status) {
    case "offline":
      return eq(nodes.status, "offline");
    case "online":
      return and(eq(nodes.status, "online"), gte(nodes.lastSeen, staleBefore));
    case "stale":
      return and(eq(nodes.status, "online"), lt(nodes.lastSeen, staleBefore));
  }
}

export async function listNodes(db: Database, staleBefore: number, status?: MeshNodeStatus): Promise<MeshNode[]> {
  const rows = await db
    .select()
    .from(nodes)
    .where(status ? statusFilter(status, staleBefore) : undefined)
    .orderBy(asc(nodes.id));
  return rows.map((row) => ({
    id: row.id,
    spiffeId: row.spiffeId,
    role: row.role,
    status: row.status === "online" && row.lastSeen < staleBefore ? "stale" : row.status,
    firmwareVersion: row.firmwareVersion,
    firstSeen: iso(row.firstSeen),
    lastSeen: iso(row.lastSeen),
    samplesStored: row.samplesStored,
    samplesMissing: row.samplesMissing,
  }));
}

export async function listFreshLinks(db: Database, updatedSince: number): Promise<MeshLink[]> {
  const rows = await db
    .select()
    .from(links)
    .where(gte(links.updatedAt, updatedSince))
    .orderBy(asc(links.fromNode), asc(links.toNode));
  return rows.map((row) => ({
    from: row.fromNode,
    to: row.toNode,
    tq: row.tq,
    latencyMs: row.latencyMs,
    loss: row.loss,
    updatedAt: iso(row.updatedAt),
  }));
}

import { inArray, max } from "drizzle-orm";
import { itemNodeId, spiffeIdOf, type TelemetryBatch } from "../../protocol/index.js";
import { refusalUpsert } from "../audit/log.js";
import { chunkRows } from "../db/chunk.js";
import type { Database } from "../db/client.js";
import { revocations } from "../db/schema.js";

export interface Screened {
  /** The batch without the items of revoked identities. */
  batch: TelemetryBatch;
  /** Items taken out. */
  revoked: number;
  /** The deny list's revision now, for the gateway to compare with its own. */
  denyListRevision: number;
}

/**
 * Takes the items of revoked identities out of a batch before anything of it is stored, whoever
 * relayed it, and counts them per node (refusal `revoked-identity`). Relayed items name a node,
 * not the certificate it connected with: a revocation by serial alone is enforced by the brokers,
 * which see the certificate, and the node's SPIFFE ID is what the edge can refuse.
 */
export async function screenRevoked(
  db: Database,
  batch: TelemetryBatch,
  trustDomain: string,
  now: number,
): Promise<Screened> {
  const nodeIds = [...new Set(batch.items.map(itemNodeId))];
  const candidates = nodeIds.flatMap((id) => [spiffeIdOf.node(trustDomain, id), spiffeIdOf.gateway(trustDomain, id)]);
  const [revision, ...found] = await Promise.all([
    db
      .select({ id: max(revocations.id) })
      .from(revocations)
      .get(),
    ...chunkRows(
      candidates.map((spiffeId) => ({ spiffeId })),
      1,
    ).map((chunk) =>
      db
        .select({ spiffeId: revocations.spiffeId })
        .from(revocations)
        .where(
          inArray(
            revocations.spiffeId,
            chunk.map((c) => c.spiffeId),
          ),
        ),
    ),
  ]);
  const denied = new Set(found.flat().map((r) => r.spiffeId));
  const denyListRevision = revision?.id ?? 0;
  if (denied.size === 0) return { batch, revoked: 0, denyListRevision };
  const isRevoked = (nodeId: string) =>
    denied.has(spiffeIdOf.node(trustDomain, nodeId)) || denied.has(spiffeIdOf.gateway(trustDomain, nodeId));
  const refusedByNode = new Map<string, number>();
  const items = batch.items.filter((item) => {
    const nodeId = itemNodeId(item);
    if (!isRevoked(nodeId)) return true;
    refusedByNode.set(nodeId, (refusedByNode.get(nodeId) ?? 0) + 1);
    return false;
  });
  await db.batch(
    [...refusedByNode].map(([source, count]) =>
      refusalUpsert(db, { reason: "revoked-identity", source, count, detail: `relayed by ${batch.gatewayId}` }, now),
    ) as [ReturnType<typeof refusalUpsert>, ...ReturnType<typeof refusalUpsert>[]],
  );
  return { batch: { ...batch, items }, revoked: batch.items.length - items.length, denyListRevision };
}

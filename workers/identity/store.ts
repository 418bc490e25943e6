import { and, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import type { DenyEntry } from "../../protocol/index.js";
import type { Database } from "../db/client.js";
import { bundleState, issuedSvids, joinTokens, registrations, revocations, usedNonces } from "../db/schema.js";

export async function createJoinToken(db: Database, row: typeof joinTokens.$inferInsert): Promise<void> {
  await db.insert(joinTokens).values(row);
}

export async function findJoinToken(db: Database, tokenHash: string) {
  return db.select().from(joinTokens).where(eq(joinTokens.tokenHash, tokenHash)).get();
}

/** Marks the token used if it still can be: the single-use guarantee is this one conditional UPDATE. */
export async function consumeJoinToken(db: Database, tokenHash: string, now: number): Promise<boolean> {
  const rows = await db
    .update(joinTokens)
    .set({ usedAt: now })
    .where(and(eq(joinTokens.tokenHash, tokenHash), isNull(joinTokens.usedAt), gt(joinTokens.expiresAt, now)))
    .returning({ spiffeId: joinTokens.spiffeId });
  return rows.length === 1;
}

export async function findRegistration(db: Database, spiffeId: string) {
  return db.select().from(registrations).where(eq(registrations.spiffeId, spiffeId)).get();
}

export const registrationUpsert = (db: Database, spiffeId: string, nodeKey: string, now: number) =>
  db
    .insert(registrations)
    .values({ spiffeId, nodeKey, createdAt: now, lastAttestedAt: now })
    .onConflictDoUpdate({ target: registrations.spiffeId, set: { nodeKey, lastAttestedAt: now } });

/** True if this nonce had not been spent; spent nonces are kept until they expire, then swept. */
export async function spendNonce(db: Database, nonce: string, expiresAt: number, now: number): Promise<boolean> {
  const [, inserted] = await db.batch([
    db.delete(usedNonces).where(lt(usedNonces.expiresAt, now)),
    db.insert(usedNonces).values({ nonce, expiresAt }).onConflictDoNothing().returning({ nonce: usedNonces.nonce }),
  ]);
  return inserted.length === 1;
}

export const svidRecord = (db: Database, row: typeof issuedSvids.$inferInsert) => db.insert(issuedSvids).values(row);

export async function isRevoked(db: Database, spiffeId: string, serial?: string): Promise<boolean> {
  const match = serial
    ? or(eq(revocations.spiffeId, spiffeId), eq(revocations.serial, serial))
    : eq(revocations.spiffeId, spiffeId);
  const row = await db.select({ id: revocations.id }).from(revocations).where(match).limit(1).get();
  return row !== undefined;
}

export const revocationInsert = (db: Database, row: typeof revocations.$inferInsert) =>
  db.insert(revocations).values(row);

/** Every revocation, oldest first, and the revision they make (the newest one's id). */
export async function denyEntries(db: Database): Promise<{ entries: DenyEntry[]; revision: number }> {
  const rows = await db.select().from(revocations).orderBy(revocations.id);
  const entries = rows.map((r) => ({
    ...(r.spiffeId ? { spiffeId: r.spiffeId } : {}),
    ...(r.serial ? { serial: r.serial } : {}),
    revokedAt: new Date(r.revokedAt).toISOString(),
    reason: r.reason,
  }));
  return { entries, revision: rows.at(-1)?.id ?? 0 };
}

/** The bundle's sequence: bumped, once, whenever the published key set's fingerprint changes. */
export async function bundleSequence(db: Database, fingerprint: string, now: number): Promise<number> {
  const row = await db
    .insert(bundleState)
    .values({ id: 1, sequence: 1, fingerprint, updatedAt: now })
    .onConflictDoUpdate({
      target: bundleState.id,
      set: { sequence: sql`${bundleState.sequence} + 1`, fingerprint, updatedAt: now },
      setWhere: sql`${bundleState.fingerprint} != excluded.fingerprint`,
    })
    .returning({ sequence: bundleState.sequence });
  if (row[0]) return row[0].sequence;
  const current = await db
    .select({ sequence: bundleState.sequence })
    .from(bundleState)
    .where(eq(bundleState.id, 1))
    .get();
  return current?.sequence ?? 1;
}

import { and, eq, gt, isNull, lt } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { dashboardSessions, loginCodes } from "../db/schema.js";

export async function createLoginCode(
  db: Database,
  row: { codeHash: string; spiffeId: string; expiresAt: number },
): Promise<void> {
  await db.insert(loginCodes).values(row);
}

/** Marks the code used if it still can be, and names whose it was: single use is this one conditional UPDATE. */
export async function consumeLoginCode(db: Database, codeHash: string, now: number): Promise<string | undefined> {
  const rows = await db
    .update(loginCodes)
    .set({ usedAt: now })
    .where(and(eq(loginCodes.codeHash, codeHash), isNull(loginCodes.usedAt), gt(loginCodes.expiresAt, now)))
    .returning({ spiffeId: loginCodes.spiffeId });
  return rows[0]?.spiffeId;
}

/** Stores a new session; expired sessions and codes go in the same batch. */
export async function createSession(
  db: Database,
  row: typeof dashboardSessions.$inferInsert,
  now: number,
): Promise<void> {
  await db.batch([
    db.delete(dashboardSessions).where(lt(dashboardSessions.expiresAt, now)),
    db.delete(loginCodes).where(lt(loginCodes.expiresAt, now)),
    db.insert(dashboardSessions).values(row),
  ]);
}

export async function findSession(db: Database, idHash: string, now: number): Promise<string | undefined> {
  const row = await db
    .select({ spiffeId: dashboardSessions.spiffeId })
    .from(dashboardSessions)
    .where(and(eq(dashboardSessions.idHash, idHash), gt(dashboardSessions.expiresAt, now)))
    .get();
  return row?.spiffeId;
}

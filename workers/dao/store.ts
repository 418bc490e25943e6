import { and, asc, count, desc, eq, inArray, lte, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type {
  ExecutionPayload,
  PolicyChange,
  ProposalType,
  SpaceSettings,
  Tally,
  VoteChoice,
} from "../../protocol/index.js";
import type { Database } from "../db/client.js";
import { chunkRows } from "../db/chunk.js";
import {
  daoAppliedSteps,
  daoBalances,
  daoExecutions,
  daoMessages,
  daoProposals,
  daoSpaces,
  daoVotes,
} from "../db/schema.js";

export interface SpaceRecord {
  id: string;
  settings: SpaceSettings;
  createdAt: number;
  updatedAt: number;
}

export type ProposalRow = Omit<typeof daoProposals.$inferSelect, "type" | "choices" | "payload" | "tally"> & {
  type: ProposalType;
  choices: string[];
  payload: ExecutionPayload | null;
  tally: Tally;
};
export type VoteRow = Omit<typeof daoVotes.$inferSelect, "choice"> & { choice: VoteChoice };
export type ExecutionRow = Omit<typeof daoExecutions.$inferSelect, "changes"> & { changes: PolicyChange[] };

// Rows hold JSON columns that this module alone writes, with the types above.
const proposalRow = (row: typeof daoProposals.$inferSelect) => row as ProposalRow;
const voteRow = (row: typeof daoVotes.$inferSelect) => row as VoteRow;
const executionRow = (row: typeof daoExecutions.$inferSelect) => row as ExecutionRow;

// ── spaces and balances ─────────────────────────────────────────────────────

export async function getSpace(db: Database, id: string): Promise<SpaceRecord | null> {
  const row = await db.select().from(daoSpaces).where(eq(daoSpaces.id, id)).get();
  return row ? { ...row, settings: row.settings as SpaceSettings } : null;
}

export const putSpace = (db: Database, id: string, settings: SpaceSettings, now: number) =>
  db
    .insert(daoSpaces)
    .values({ id, settings, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: daoSpaces.id, set: { settings, updatedAt: now } });

export async function openProposalCount(db: Database, spaceId: string): Promise<number> {
  const row = await db
    .select({ n: count() })
    .from(daoProposals)
    .where(and(eq(daoProposals.spaceId, spaceId), eq(daoProposals.state, "active")))
    .get();
  return row?.n ?? 0;
}

export function balanceStatements(db: Database, spaceId: string, block: number, balances: Record<string, string>) {
  const rows = Object.entries(balances).map(([address, balance]) => ({
    spaceId,
    address: address.toLowerCase(),
    block,
    balance,
  }));
  return chunkRows(rows, 4).map((chunk) =>
    db
      .insert(daoBalances)
      .values(chunk)
      .onConflictDoUpdate({
        target: [daoBalances.spaceId, daoBalances.address, daoBalances.block],
        set: { balance: sql`excluded.balance` },
      }),
  );
}

/** The raw balance at `block`: the latest loaded at or before it. */
export async function balanceAt(db: Database, spaceId: string, address: string, block: number): Promise<string | null> {
  const row = await db
    .select({ balance: daoBalances.balance })
    .from(daoBalances)
    .where(and(eq(daoBalances.spaceId, spaceId), eq(daoBalances.address, address), lte(daoBalances.block, block)))
    .orderBy(desc(daoBalances.block))
    .limit(1)
    .get();
  return row?.balance ?? null;
}

// ── messages, proposals, votes ──────────────────────────────────────────────

export const messageExists = async (db: Database, id: string) =>
  (await db.select({ id: daoMessages.id }).from(daoMessages).where(eq(daoMessages.id, id)).get()) !== undefined;

export const messageInsert = (db: Database, row: typeof daoMessages.$inferInsert) => db.insert(daoMessages).values(row);

export const proposalInsert = (db: Database, row: ProposalRow) => db.insert(daoProposals).values(row);

export async function getProposal(db: Database, id: string): Promise<ProposalRow | null> {
  const row = await db.select().from(daoProposals).where(eq(daoProposals.id, id)).get();
  return row ? proposalRow(row) : null;
}

export async function listProposals(db: Database, spaceId: string, limit: number): Promise<ProposalRow[]> {
  const rows = await db
    .select()
    .from(daoProposals)
    .where(eq(daoProposals.spaceId, spaceId))
    .orderBy(desc(daoProposals.createdAt))
    .limit(limit);
  return rows.map(proposalRow);
}

/** Voting ended (by the server's clock, in seconds) but not yet closed; a hub's proposals close at the hub. */
export async function endedProposals(db: Database, nowS: number, limit: number): Promise<ProposalRow[]> {
  const rows = await db
    .select()
    .from(daoProposals)
    .where(and(eq(daoProposals.state, "active"), lte(daoProposals.end, nowS), eq(daoProposals.provenance, "signed")))
    .orderBy(asc(daoProposals.end))
    .limit(limit);
  return rows.map(proposalRow);
}

export async function votesOf(db: Database, proposalId: string): Promise<VoteRow[]> {
  const rows = await db
    .select()
    .from(daoVotes)
    .where(eq(daoVotes.proposalId, proposalId))
    .orderBy(asc(daoVotes.createdAt));
  return rows.map(voteRow);
}

export interface VoteContext {
  proposal: ProposalRow;
  space: SpaceRecord;
  /** When the voter's counted vote was signed, if there is one. */
  previous: number | null;
  /** The voter's raw balance at the proposal's block, from the loaded balances. */
  balance: string | null;
  /** This very message was received before. */
  seen: boolean;
}

/** Everything a vote is checked against, in one read: votes are the hot path. */
export async function voteContext(
  db: Database,
  proposalId: string,
  voter: string,
  messageId: string,
): Promise<VoteContext | null> {
  const row = await db
    .select({
      proposal: daoProposals,
      space: daoSpaces,
      previous: sql<number | null>`(SELECT ${daoVotes.createdAt} FROM ${daoVotes}
        WHERE ${daoVotes.proposalId} = ${daoProposals.id} AND ${daoVotes.voter} = ${voter})`,
      balance: sql<string | null>`(SELECT ${daoBalances.balance} FROM ${daoBalances}
        WHERE ${daoBalances.spaceId} = ${daoProposals.spaceId} AND ${daoBalances.address} = ${voter}
          AND ${daoBalances.block} <= ${daoProposals.snapshot}
        ORDER BY ${daoBalances.block} DESC LIMIT 1)`,
      seen: sql<number>`EXISTS (SELECT 1 FROM ${daoMessages} WHERE ${daoMessages.id} = ${messageId})`,
    })
    .from(daoProposals)
    .innerJoin(daoSpaces, eq(daoSpaces.id, daoProposals.spaceId))
    .where(eq(daoProposals.id, proposalId))
    .get();
  if (!row) return null;
  return {
    proposal: proposalRow(row.proposal),
    space: { ...row.space, settings: row.space.settings as SpaceSettings },
    previous: row.previous,
    balance: row.balance,
    seen: row.seen === 1,
  };
}

/** Records a vote, replacing the voter's earlier one (never a later one). */
export const voteUpsert = (db: Database, row: VoteRow) =>
  db
    .insert(daoVotes)
    .values(row)
    .onConflictDoUpdate({
      target: [daoVotes.proposalId, daoVotes.voter],
      set: {
        id: row.id,
        choice: row.choice,
        power: row.power,
        reason: row.reason,
        createdAt: row.createdAt,
        provenance: row.provenance,
      },
      setWhere: sql`${daoVotes.createdAt} < excluded.created_at`,
    });

export const proposalClose = (db: Database, id: string, tally: Tally) =>
  db
    .update(daoProposals)
    .set({ state: "closed", tally })
    .where(and(eq(daoProposals.id, id), eq(daoProposals.state, "active")));

export const proposalCancel = (db: Database, id: string) =>
  db
    .update(daoProposals)
    .set({ state: "cancelled" })
    .where(and(eq(daoProposals.id, id), eq(daoProposals.state, "active")));

// ── executions ──────────────────────────────────────────────────────────────

export const executionInsert = (db: Database, row: ExecutionRow) =>
  db.insert(daoExecutions).values(row).onConflictDoNothing();

export async function getExecution(db: Database, proposalId: string): Promise<ExecutionRow | null> {
  const row = await db.select().from(daoExecutions).where(eq(daoExecutions.proposalId, proposalId)).get();
  return row ? executionRow(row) : null;
}

export async function listExecutions(db: Database, spaceId: string | undefined, limit: number) {
  const rows = await db
    .select()
    .from(daoExecutions)
    .where(spaceId === undefined ? undefined : eq(daoExecutions.spaceId, spaceId))
    .orderBy(desc(daoExecutions.updatedAt))
    .limit(limit);
  return rows.map(executionRow);
}

export async function dueExecutions(db: Database, now: number, limit: number): Promise<ExecutionRow[]> {
  const rows = await db
    .select()
    .from(daoExecutions)
    .where(and(inArray(daoExecutions.state, ["queued", "running"]), lte(daoExecutions.eta, now)))
    .orderBy(asc(daoExecutions.eta))
    .limit(limit);
  return rows.map(executionRow);
}

export const executionState = (
  db: Database,
  proposalId: string,
  from: readonly ExecutionRow["state"][],
  set: { state: ExecutionRow["state"]; error?: string | null; cancelledBy?: string | null; updatedAt: number },
) =>
  db
    .update(daoExecutions)
    .set(set)
    .where(and(eq(daoExecutions.proposalId, proposalId), inArray(daoExecutions.state, [...from])));

export async function appliedSteps(db: Database, proposalIds: readonly string[]) {
  if (proposalIds.length === 0) return new Map<string, Map<number, number>>();
  const rows = await db
    .select()
    .from(daoAppliedSteps)
    .where(inArray(daoAppliedSteps.proposalId, [...proposalIds]));
  const byProposal = new Map<string, Map<number, number>>();
  for (const r of rows) {
    const steps = byProposal.get(r.proposalId) ?? new Map<number, number>();
    steps.set(r.step, r.appliedAt);
    byProposal.set(r.proposalId, steps);
  }
  return byProposal;
}

export type Statement = BatchItem<"sqlite">;

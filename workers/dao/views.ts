import {
  daoLimits,
  type ExecutionView,
  type ProposalDetail,
  type ProposalView,
  type SpaceSettings,
  type SpaceView,
  type Tally,
} from "../../protocol/index.js";
import type { Database } from "../db/client.js";
import {
  appliedSteps,
  getSpace,
  votesOf,
  type ExecutionRow,
  type ProposalRow,
  type SpaceRecord,
  type VoteRow,
} from "./store.js";
import { scoresOf, tallyOf } from "./tally.js";

const iso = (ms: number) => new Date(ms).toISOString();

export const spaceView = (space: SpaceRecord, openProposals: number): SpaceView => ({
  ...space.settings,
  id: space.id,
  createdAt: iso(space.createdAt),
  updatedAt: iso(space.updatedAt),
  openProposals,
});

/**
 * An open proposal's tally as of now, under its space's quorum and threshold (the stored one is
 * final once closed, and a hub's is the hub's).
 */
export async function currentTally(
  db: Database,
  proposal: ProposalRow,
  settings: Pick<SpaceSettings, "quorum" | "threshold">,
  votes?: VoteRow[],
): Promise<Tally> {
  if (proposal.state !== "active" || proposal.provenance === "hub") return proposal.tally;
  const counted = votes ?? (await votesOf(db, proposal.id));
  const scores = scoresOf(proposal.type, proposal.choices.length, counted);
  return tallyOf(settings, proposal.type, scores, counted, false);
}

export function proposalView(row: ProposalRow, tally: Tally, nowMs: number): ProposalView {
  const state = row.state === "active" && nowMs < row.start * 1000 ? "pending" : row.state;
  return {
    id: row.id,
    space: row.spaceId,
    author: row.author,
    type: row.type,
    title: row.title,
    body: row.body,
    choices: row.choices,
    start: iso(row.start * 1000),
    end: iso(row.end * 1000),
    snapshot: row.snapshot,
    state,
    payload: row.payload,
    tally,
    provenance: row.provenance,
    createdAt: iso(row.createdAt),
  };
}

export async function proposalDetail(db: Database, row: ProposalRow, nowMs: number): Promise<ProposalDetail> {
  const [votes, space] = await Promise.all([votesOf(db, row.id), getSpace(db, row.spaceId)]);
  const settings = space?.settings ?? { quorum: 0, threshold: 1 };
  return {
    ...proposalView(row, await currentTally(db, row, settings, votes), nowMs),
    votes: votes.slice(-daoLimits.votesShown).map((v) => ({
      id: v.id,
      voter: v.voter,
      choice: v.choice,
      power: v.power,
      reason: v.reason,
      createdAt: iso(v.createdAt * 1000),
      provenance: v.provenance,
    })),
  };
}

export async function executionViews(db: Database, rows: readonly ExecutionRow[]): Promise<ExecutionView[]> {
  const applied = await appliedSteps(
    db,
    rows.map((r) => r.proposalId),
  );
  return rows.map((row) => {
    const done = applied.get(row.proposalId) ?? new Map<number, number>();
    const failedAt = row.state === "failed" ? done.size : -1; // steps run in order: the first not applied failed
    return {
      proposalId: row.proposalId,
      space: row.spaceId,
      state: row.state,
      eta: iso(row.eta),
      steps: row.changes.map((change, index) => {
        const at = done.get(index);
        return {
          index,
          change,
          state: at !== undefined ? "applied" : index === failedAt ? "failed" : "pending",
          at: at === undefined ? null : iso(at),
          error: index === failedAt ? row.error : null,
        };
      }),
      error: row.error,
      cancelledBy: row.cancelledBy,
      updatedAt: iso(row.updatedAt),
    };
  });
}

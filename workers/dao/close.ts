import { boundedDetail } from "../audit/log.js";
import { asD1Statement } from "../db/client.js";
import type { DaoDeps } from "./messages.js";
import { endedProposals, executionInsert, getSpace, proposalClose, votesOf, type ProposalRow } from "./store.js";
import { scoresOf, tallyOf } from "./tally.js";

/** Proposals closed per run; the cron trigger and the next run take the rest. */
const CLOSE_BATCH = 50;

/**
 * Closes proposals whose voting has ended: the final tally (quorum, threshold, result) is stored,
 * and a passed proposal's payload enters the execution queue behind the space's timelock.
 */
export async function closeEndedProposals(deps: DaoDeps): Promise<number> {
  const ended = await endedProposals(deps.db, Math.floor(deps.now() / 1000), CLOSE_BATCH);
  for (const proposal of ended) await closeProposal(deps, proposal);
  return ended.length;
}

async function closeProposal(deps: DaoDeps, proposal: ProposalRow): Promise<void> {
  const space = await getSpace(deps.db, proposal.spaceId);
  if (!space) return;
  const votes = await votesOf(deps.db, proposal.id);
  const scores = scoresOf(proposal.type, proposal.choices.length, votes);
  const tally = tallyOf(space.settings, proposal.type, scores, votes, true);
  const now = deps.now();
  const detail = { result: tally.result, scoresTotal: tally.scoresTotal, approval: tally.approval, votes: tally.votes };
  // The audit row first, written only while the proposal is still open: two closers leave one row.
  const statements = [
    closedAudit(deps, proposal.id, detail, now),
    asD1Statement(deps.d1, proposalClose(deps.db, proposal.id, tally)),
  ];
  if (tally.result === "passed" && proposal.payload)
    statements.push(
      asD1Statement(
        deps.d1,
        executionInsert(deps.db, {
          proposalId: proposal.id,
          spaceId: space.id,
          state: "queued",
          eta: proposal.end * 1000 + space.settings.timelock * 1000,
          changes: proposal.payload.changes,
          error: null,
          cancelledBy: null,
          updatedAt: now,
        }),
      ),
    );
  await deps.d1.batch(statements);
}

const closedAudit = (deps: DaoDeps, proposalId: string, detail: Record<string, unknown>, now: number) =>
  deps.d1
    .prepare(
      `INSERT INTO audit_log (ts, actor, action, subject, outcome, detail)
       SELECT ?1, 'dao:closer', 'dao.proposal.closed', ?2, 'success', ?3
       WHERE EXISTS (SELECT 1 FROM dao_proposals WHERE id = ?2 AND state = 'active')`,
    )
    .bind(now, proposalId, JSON.stringify(boundedDetail(detail)));

import { sql } from "drizzle-orm";
import { z } from "zod";
import { daoLimits, ProposalType, type HubSync } from "../../protocol/index.js";
import { chunkRows } from "../db/chunk.js";
import { runBatch } from "../db/client.js";
import { daoProposals, daoVotes } from "../db/schema.js";
import type { DaoDeps } from "./messages.js";
import type { ProposalRow, SpaceRecord, Statement, VoteRow } from "./store.js";
import { tallyOfScores } from "./tally.js";

/** Pages asked of the hub, and how far a sync goes: 1,000 proposals, 20,000 votes each. */
const PROPOSAL_PAGE = 100;
const MAX_PROPOSAL_PAGES = 10;
const VOTE_PAGE = 1000;
const MAX_VOTE_PAGES = 20;

const PROPOSALS_QUERY = `query Proposals($space: String!, $first: Int!, $skip: Int!) {
  proposals(first: $first, skip: $skip, where: {space: $space}, orderBy: "created", orderDirection: asc) {
    id author title body choices start end snapshot state type scores scores_total created
  }
}`;

const VOTES_QUERY = `query Votes($proposal: String!, $first: Int!, $skip: Int!) {
  votes(first: $first, skip: $skip, where: {proposal: $proposal}, orderBy: "created", orderDirection: asc) {
    id voter choice vp reason created
  }
}`;

/** The hub's shapes (Snapshot's GraphQL API), as far as the mirror reads them. */
const HubProposal = z.object({
  id: z.string().min(1).max(100),
  author: z.string().max(100),
  title: z.string(),
  body: z.string(),
  choices: z.array(z.string()).max(daoLimits.choices),
  start: z.number().int(),
  end: z.number().int(),
  snapshot: z.union([z.string(), z.number()]),
  state: z.string(),
  type: z.string(),
  scores: z.array(z.number()),
  scores_total: z.number(),
  created: z.number().int(),
});
type HubProposal = z.infer<typeof HubProposal>;
const HubVote = z.object({
  id: z.string().max(100),
  voter: z.string().max(100),
  choice: z.union([z.number(), z.array(z.number()), z.record(z.string(), z.number())]),
  vp: z.number(),
  reason: z.string().nullable(),
  created: z.number().int(),
});
const Answer = <S extends z.ZodType>(key: string, item: S) =>
  z.object({ data: z.object({ [key]: z.array(item) }) }) as unknown as z.ZodType<{
    data: Record<string, z.infer<S>[]>;
  }>;

async function query<S extends z.ZodType>(
  hub: string,
  document: string,
  variables: Record<string, unknown>,
  key: string,
  item: S,
): Promise<z.infer<S>[]> {
  const response = await fetch(hub, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query: document, variables }),
  });
  if (!response.ok) throw new Error(`${hub} answered ${String(response.status)}`);
  const parsed = Answer(key, item).safeParse(await response.json());
  if (!parsed.success) throw new Error(`${hub} answered something that is not a ${key} page`);
  return parsed.data.data[key] ?? [];
}

async function pages<S extends z.ZodType>(
  fetchPage: (first: number, skip: number) => Promise<z.infer<S>[]>,
  size: number,
  max: number,
): Promise<z.infer<S>[]> {
  const all: z.infer<S>[] = [];
  for (let page = 0; page < max; page++) {
    const items = await fetchPage(size, page * size);
    all.push(...items);
    if (items.length < size) break;
  }
  return all;
}

/**
 * Imports a Snapshot space's proposals, votes and scores from a hub: each stored as the hub's
 * word (provenance "hub"), its tally the hub's scores, never re-verified, never executed. A
 * proposal or vote signed here is never overwritten by the hub's copy. Running it again updates
 * what changed (states, scores, votes).
 */
export async function syncFromHub(deps: DaoDeps, space: SpaceRecord): Promise<HubSync> {
  const mirror = space.settings.mirror;
  if (!mirror) throw new Error(`space ${space.id} mirrors no Snapshot space`);
  const proposals = await pages<typeof HubProposal>(
    (first, skip) => query(mirror.hub, PROPOSALS_QUERY, { space: mirror.space, first, skip }, "proposals", HubProposal),
    PROPOSAL_PAGE,
    MAX_PROPOSAL_PAGES,
  );
  let votes = 0;
  let skipped = 0;
  for (const hubProposal of proposals) {
    const type = ProposalType.safeParse(hubProposal.type);
    if (!type.success) {
      skipped++;
      continue;
    }
    const hubVotes = await pages<typeof HubVote>(
      (first, skip) => query(mirror.hub, VOTES_QUERY, { proposal: hubProposal.id, first, skip }, "votes", HubVote),
      VOTE_PAGE,
      MAX_VOTE_PAGES,
    );
    const proposal = proposalRow(deps, space, hubProposal, type.data, hubVotes.length);
    const rows: VoteRow[] = hubVotes.map((v) => ({
      proposalId: proposal.id,
      voter: v.voter.toLowerCase(),
      id: v.id,
      choice: v.choice,
      power: v.vp,
      reason: (v.reason ?? "").slice(0, daoLimits.reasonChars),
      createdAt: v.created,
      provenance: "hub",
    }));
    await runBatch(deps.db, [proposalUpsert(deps, proposal), ...voteUpserts(deps, rows)]);
    votes += rows.length;
  }
  return { hub: mirror.hub, space: mirror.space, proposals: proposals.length - skipped, votes, skipped };
}

function proposalRow(
  deps: DaoDeps,
  space: SpaceRecord,
  p: HubProposal,
  type: ProposalType,
  votes: number,
): ProposalRow {
  const closed = p.state === "closed";
  return {
    id: p.id.startsWith("0x") ? p.id.toLowerCase() : p.id,
    spaceId: space.id,
    author: p.author.toLowerCase(),
    type,
    title: p.title.slice(0, daoLimits.titleChars),
    body: p.body.slice(0, daoLimits.bodyChars),
    choices: p.choices,
    start: p.start,
    end: p.end,
    snapshot: Number(p.snapshot) || 0,
    payload: null,
    state: closed ? "closed" : "active",
    tally: tallyOfScores(space.settings, type, { scores: p.scores, scoresTotal: p.scores_total, votes }, closed),
    provenance: "hub",
    createdAt: p.created * 1000 || deps.now(),
  };
}

/** The hub's copy replaces only an earlier hub copy: a proposal signed here stays as it was received. */
const proposalUpsert = (deps: DaoDeps, row: ProposalRow): Statement =>
  deps.db
    .insert(daoProposals)
    .values(row)
    .onConflictDoUpdate({
      target: daoProposals.id,
      set: { state: row.state, tally: row.tally, title: row.title, body: row.body, end: row.end },
      setWhere: sql`${daoProposals.provenance} = 'hub'`,
    });

const voteUpserts = (deps: DaoDeps, rows: readonly VoteRow[]): Statement[] =>
  chunkRows(rows, 8).map((chunk) =>
    deps.db
      .insert(daoVotes)
      .values(chunk)
      .onConflictDoUpdate({
        target: [daoVotes.proposalId, daoVotes.voter],
        set: {
          id: sql`excluded.id`,
          choice: sql`excluded.choice`,
          power: sql`excluded.power`,
          reason: sql`excluded.reason`,
          createdAt: sql`excluded.created_at`,
        },
        setWhere: sql`${daoVotes.provenance} = 'hub'`,
      }),
  );

import type { PublicClient } from "viem";
import type { z } from "zod";
import {
  CancelMessage,
  ExecutionPayload,
  PLUGIN_KEY,
  ProposalMessage,
  ProposalType,
  VoteMessage,
  type MessageReceipt,
  type RefusalReason,
  type VoteChoice,
} from "../../protocol/index.js";
import { auditStatement } from "../audit/log.js";
import type { Database } from "../db/client.js";
import { powerFor, powerOfBalance } from "./power.js";
import { contractWalletCheck } from "./snapshot/contract-wallet.js";
import { describeIssue, Refused, verifyEnvelope, type VerifiedMessage } from "./snapshot/verify.js";
import {
  executionState,
  getExecution,
  getProposal,
  getSpace,
  messageExists,
  messageInsert,
  voteContext,
  proposalCancel,
  proposalInsert,
  voteUpsert,
  type ProposalRow,
  type SpaceRecord,
  type Statement,
} from "./store.js";
import { isValidChoice, tallyOf } from "./tally.js";

export interface DaoDeps {
  db: Database;
  /** The same database, for statements drizzle cannot build (conditional INSERT … SELECT). */
  d1: D1Database;
  /** Unix milliseconds: injected, so that tests move through voting windows and timelocks. */
  now: () => number;
  /** The JSON-RPC endpoint (DAO_RPC_URL): balances at a block and EIP-1271 signatures; absent: both off. */
  rpc: PublicClient | undefined;
}

const MAX_VOTING_PERIOD_S = 90 * 86_400;

/** Verifies a posted Snapshot envelope and acts on it; throws `Refused` with nothing stored. */
export async function acceptMessage(deps: DaoDeps, body: string): Promise<MessageReceipt> {
  const verified = await verifyEnvelope(body, {
    nowMs: deps.now(),
    contractSignatures: deps.rpc ? contractWalletCheck(deps.rpc) : undefined,
  });
  // Votes, the hot path, learn this in the one read they check everything else against.
  if (verified.kind === "proposal" || verified.kind === "delete-proposal")
    if (await messageExists(deps.db, verified.id)) throw duplicate();
  const statements = await statementsFor(deps, verified);
  const record = messageInsert(deps.db, {
    id: verified.id,
    kind: verified.kind,
    spaceId: String(verified.message.space),
    address: verified.signer,
    sig: verified.envelope.sig,
    envelope: body,
    receivedAt: deps.now(),
  });
  try {
    await deps.db.batch([record, ...statements]);
  } catch (error) {
    // Two copies raced past the check: the message's primary key lets one through.
    if (String(error).includes("UNIQUE constraint failed: dao_messages.id")) throw duplicate();
    throw error;
  }
  return { id: verified.id, kind: verified.kind };
}

const duplicate = () => new Refused("duplicate", "this message (the same EIP-712 hash) was already received");

function statementsFor(deps: DaoDeps, verified: VerifiedMessage): Promise<Statement[]> {
  switch (verified.kind) {
    case "proposal":
      return propose(deps, verified);
    case "vote":
    case "vote-array":
    case "vote-string":
      return vote(deps, verified);
    case "delete-proposal":
      return cancel(deps, verified);
  }
}

function fields<T>(schema: z.ZodType<T>, value: unknown, reason: RefusalReason): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new Refused(reason, describeIssue(parsed.error));
}

async function spaceOf(deps: DaoDeps, id: string): Promise<SpaceRecord> {
  const space = await getSpace(deps.db, id);
  if (!space) throw new Refused("unknown-space", `unknown space "${id}"`);
  return space;
}

const isAdmin = (space: SpaceRecord, address: string) => space.settings.admins.includes(address);

// ── proposals ───────────────────────────────────────────────────────────────

async function propose(deps: DaoDeps, verified: VerifiedMessage): Promise<Statement[]> {
  const message = fields(ProposalMessage, verified.message, "invalid-proposal");
  const type = ProposalType.safeParse(message.type);
  if (!type.success) throw new Refused("invalid-proposal", `voting type "${message.type}" is not supported here`);
  if (message.privacy !== "") throw new Refused("invalid-proposal", "private (shutter) voting is not supported here");
  const space = await spaceOf(deps, message.space);
  const { settings } = space;
  if (settings.votingType !== null && type.data !== settings.votingType)
    throw new Refused("invalid-proposal", `this space only votes by ${settings.votingType}`);
  if (type.data === "basic" && (message.choices.length < 2 || message.choices.length > 3))
    throw new Refused("invalid-proposal", "a basic proposal has the choices For, Against and (optionally) Abstain");
  checkWindow(message, settings, Math.floor(deps.now() / 1000));
  await checkProposer(deps, space, verified.signer, message.snapshot);
  const payload = payloadOf(message.plugins);
  const row: ProposalRow = {
    id: verified.id,
    spaceId: space.id,
    author: verified.signer,
    type: type.data,
    title: message.title,
    body: message.body,
    choices: message.choices,
    start: message.start,
    end: message.end,
    snapshot: message.snapshot,
    payload,
    state: "active",
    tally: tallyOf(
      settings,
      type.data,
      message.choices.map(() => 0),
      [],
      false,
    ),
    provenance: "signed",
    createdAt: deps.now(),
  };
  const audit = auditStatement(
    deps.db,
    {
      actor: verified.signer,
      action: "dao.proposal.created",
      subject: verified.id,
      outcome: "success",
      detail: { space: space.id, title: message.title, changes: payload?.changes.length ?? 0 },
    },
    deps.now(),
  );
  return [proposalInsert(deps.db, row), audit];
}

function checkWindow(message: ProposalMessage, settings: SpaceRecord["settings"], nowS: number): void {
  if (message.end <= message.start) throw new Refused("invalid-proposal", "end must be after start");
  if (message.end - message.start > MAX_VOTING_PERIOD_S)
    throw new Refused("invalid-proposal", "voting may last at most 90 days");
  if (message.end <= nowS) throw new Refused("invalid-proposal", "voting would already have ended");
  if (settings.votingDelay > 0 && message.start !== message.timestamp + settings.votingDelay)
    throw new Refused(
      "invalid-proposal",
      `invalid voting delay: start must be timestamp + ${String(settings.votingDelay)} s`,
    );
  if (settings.votingPeriod > 0 && message.end - message.start !== settings.votingPeriod)
    throw new Refused(
      "invalid-proposal",
      `invalid voting period: end must be start + ${String(settings.votingPeriod)} s`,
    );
}

async function checkProposer(deps: DaoDeps, space: SpaceRecord, author: `0x${string}`, block: number): Promise<void> {
  if (isAdmin(space, author) || space.settings.members.includes(author)) return;
  const threshold = space.settings.proposalThreshold;
  if (threshold === null) throw new Refused("not-allowed", "only the space's admins and members may propose");
  const power = await powerFor(space, deps.db, deps.rpc)(space, author, block);
  if (power < threshold)
    throw new Refused(
      "not-allowed",
      `proposing needs ${String(threshold)} voting power; the author has ${String(power)}`,
    );
}

/** The execution payload in the proposal's `plugins`, validated now rather than when it passes. */
function payloadOf(plugins: string): ExecutionPayload | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(plugins);
  } catch {
    throw new Refused("invalid-proposal", "plugins is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new Refused("invalid-proposal", "plugins must be a JSON object");
  const ours = (parsed as Record<string, unknown>)[PLUGIN_KEY];
  if (ours === undefined) return null;
  const payload = ExecutionPayload.safeParse(ours);
  if (payload.success) return payload.data;
  throw new Refused(
    "invalid-payload",
    `the execution payload is outside the closed set of mesh-policy changes: ${describeIssue(payload.error)}`,
  );
}

// ── votes ───────────────────────────────────────────────────────────────────

async function vote(deps: DaoDeps, verified: VerifiedMessage): Promise<Statement[]> {
  const message = fields(VoteMessage, verified.message, "malformed");
  const context = await voteContext(deps.db, message.proposal.toLowerCase(), verified.signer, verified.id);
  if (context?.seen) throw duplicate();
  if (!context || context.proposal.spaceId !== message.space)
    throw new Refused("unknown-proposal", `unknown proposal "${message.proposal}" in "${message.space}"`);
  const { proposal, space } = context;
  checkOpen(proposal, message.timestamp, Math.floor(deps.now() / 1000));
  const choice = choiceOf(verified.kind, message.choice, proposal);
  if (context.previous !== null && context.previous >= message.timestamp)
    throw new Refused("timestamp-stale", "a vote by this address signed at or after this one is already counted");
  const power =
    space.settings.strategy.source === "balances"
      ? powerOfBalance(context.balance, space.settings.strategy.decimals)
      : await powerFor(space, deps.db, deps.rpc)(space, verified.signer, proposal.snapshot);
  if (!(power > 0)) throw new Refused("no-voting-power", `no voting power at block ${String(proposal.snapshot)}`);
  return [
    voteUpsert(deps.db, {
      proposalId: proposal.id,
      voter: verified.signer,
      id: verified.id,
      choice,
      power,
      reason: message.reason,
      createdAt: message.timestamp,
      provenance: "signed",
    }),
  ];
}

async function proposalOf(deps: DaoDeps, id: string, space: string): Promise<ProposalRow> {
  const proposal = await getProposal(deps.db, id.toLowerCase());
  if (!proposal || proposal.spaceId !== space)
    throw new Refused("unknown-proposal", `unknown proposal "${id}" in "${space}"`);
  return proposal;
}

function checkOpen(proposal: ProposalRow, timestamp: number, nowS: number): void {
  if (proposal.state === "cancelled") throw new Refused("vote-ended", "the proposal was cancelled");
  if (timestamp < proposal.start || nowS < proposal.start)
    throw new Refused("vote-not-started", `voting starts at ${new Date(proposal.start * 1000).toISOString()}`);
  if (proposal.state === "closed" || timestamp >= proposal.end || nowS >= proposal.end)
    throw new Refused("vote-ended", `voting ended at ${new Date(proposal.end * 1000).toISOString()}`);
}

const SIGNED_AS: Record<ProposalType, VerifiedMessage["kind"]> = {
  "single-choice": "vote",
  basic: "vote",
  approval: "vote-array",
  "ranked-choice": "vote-array",
  weighted: "vote-string",
  quadratic: "vote-string",
};

const CHOICE_RULE: Record<ProposalType, string> = {
  "single-choice": "one choice's number, 1-based",
  basic: "1 (for), 2 (against) or 3 (abstain)",
  approval: "a list of distinct choice numbers",
  "ranked-choice": "every choice's number once, in order of preference",
  weighted: 'a JSON object {"choice number": weight}, weights ≥ 0, one > 0',
  quadratic: 'a JSON object {"choice number": weight}, weights ≥ 0, one > 0',
};

function choiceOf(kind: VerifiedMessage["kind"], raw: number | number[] | string, proposal: ProposalRow): VoteChoice {
  if (SIGNED_AS[proposal.type] !== kind)
    throw new Refused(
      "invalid-choice",
      `a ${proposal.type} vote is signed as ${SIGNED_AS[proposal.type]}, not ${kind}`,
    );
  let choice: unknown = raw;
  if (typeof raw === "string") {
    try {
      choice = JSON.parse(raw);
    } catch {
      throw new Refused("invalid-choice", `invalid choice: ${CHOICE_RULE[proposal.type]}`);
    }
  }
  if (!isValidChoice(proposal.type, choice, proposal.choices.length))
    throw new Refused("invalid-choice", `invalid choice for ${proposal.type}: ${CHOICE_RULE[proposal.type]}`);
  return choice;
}

// ── cancellation ────────────────────────────────────────────────────────────

/**
 * Cancels an open proposal (its author or a space admin), or a passed one waiting in the
 * execution queue (a space admin, during the timelock).
 */
async function cancel(deps: DaoDeps, verified: VerifiedMessage): Promise<Statement[]> {
  const message = fields(CancelMessage, verified.message, "malformed");
  const proposal = await proposalOf(deps, message.proposal, message.space);
  const space = await spaceOf(deps, proposal.spaceId);
  const admin = isAdmin(space, verified.signer);
  const audit = (action: string) =>
    auditStatement(deps.db, { actor: verified.signer, action, subject: proposal.id, outcome: "success" }, deps.now());
  if (proposal.state === "active") {
    if (!admin && proposal.author !== verified.signer)
      throw new Refused("not-allowed", "only the author or a space admin may cancel a proposal");
    return [proposalCancel(deps.db, proposal.id), audit("dao.proposal.cancelled")];
  }
  const execution = await getExecution(deps.db, proposal.id);
  if (!execution || execution.state !== "queued" || deps.now() >= execution.eta)
    throw new Refused("invalid-proposal", "the proposal is closed and nothing of it waits out a timelock");
  if (!admin) throw new Refused("not-allowed", "only a space admin may cancel a queued execution");
  return [
    executionState(deps.db, proposal.id, ["queued"], {
      state: "cancelled",
      cancelledBy: verified.signer,
      updatedAt: deps.now(),
    }),
    audit("dao.execution.cancelled"),
  ];
}

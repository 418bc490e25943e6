import { z } from "zod";
import { SignedAction } from "./mape.js";
import { SpiffeIdString } from "./spiffe-id.js";

/**
 * Governance in Snapshot's signed-message format: proposals and votes arrive as the envelope
 * snapshot.js's `Client712` posts, and passed proposals carry typed mesh-policy changes.
 */
export const daoLimits = {
  /** The sequencer's body limit. */
  messageBytes: 100_000,
  /** A message signed more than this far ahead of the server's clock is refused… */
  futureSkewS: 300,
  /** …and one older than this (3 days). */
  maxAgeS: 3 * 24 * 3600,
  titleChars: 256,
  bodyChars: 20_000,
  choices: 500,
  choiceChars: 256,
  reasonChars: 5000,
  appChars: 24,
  changesPerProposal: 16,
  /** Votes a proposal's detail lists, the newest; its tally counts every one. */
  votesShown: 1000,
  /** Addresses in one balances upload. */
  balancesPerUpload: 5000,
} as const;

export const Address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte hex address")
  .transform((a) => a.toLowerCase() as `0x${string}`);
export type Address = z.infer<typeof Address>;

/** A message's id: its EIP-712 hash, lowercase hex. */
export const MessageId = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte hex hash")
  .transform((h) => h.toLowerCase() as `0x${string}`);

/** A space's id, as Snapshot names spaces (an ENS-like name). */
export const SpaceId = z.string().regex(/^[a-z0-9][a-z0-9.-]{0,63}$/, "must be 1–64 of a-z 0-9 . - (lowercase)");

export const ProposalType = z.enum(["single-choice", "approval", "ranked-choice", "weighted", "quadratic", "basic"]);
export type ProposalType = z.infer<typeof ProposalType>;

/** What `Client712.sign` posts. Checked field by field by the control plane (domain, types, signature). */
export const SnapshotEnvelope = z.strictObject({
  address: z.string().max(100),
  sig: z.string().regex(/^0x[0-9a-fA-F]*$/, "must be 0x-prefixed hex"),
  data: z.strictObject({
    domain: z.record(z.string(), z.unknown()),
    types: z.record(z.string(), z.array(z.strictObject({ name: z.string(), type: z.string() }))),
    message: z.record(z.string(), z.unknown()),
    primaryType: z.string().optional(),
  }),
});
export type SnapshotEnvelope = z.infer<typeof SnapshotEnvelope>;

const Seconds = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32);
/** `from` is an address in every type set (some sign it as `string`). */
const From = z.string().regex(/^0x[0-9a-fA-F]{40}$/);

/** What every signed message carries: who, where, when. */
const Signed = { from: From, space: SpaceId, timestamp: Seconds };

/** A signed proposal's fields (the older type sets lack `labels`, `privacy` and `app`). */
export const ProposalMessage = z.object({
  ...Signed,
  type: z.string(),
  title: z.string().min(1).max(daoLimits.titleChars),
  body: z.string().max(daoLimits.bodyChars),
  discussion: z.string().max(256).default(""),
  choices: z.array(z.string().min(1).max(daoLimits.choiceChars)).min(1).max(daoLimits.choices),
  labels: z.array(z.string().max(64)).max(10).default([]),
  start: Seconds,
  end: Seconds,
  snapshot: z.number().int().nonnegative(),
  plugins: z.string().max(daoLimits.messageBytes).default("{}"),
  privacy: z.string().default(""),
  app: z.string().max(daoLimits.appChars).default(""),
});
export type ProposalMessage = z.infer<typeof ProposalMessage>;

/** A signed vote's fields; `proposal` is a bytes32 or a string, `choice` as its type set signs it. */
export const VoteMessage = z.object({
  ...Signed,
  proposal: z.string().min(1).max(100),
  choice: z.union([z.number(), z.array(z.number()), z.string().max(20_000)]),
  reason: z.string().max(daoLimits.reasonChars).default(""),
  app: z.string().max(daoLimits.appChars).default(""),
  metadata: z.string().max(10_000).default("{}"),
});
export type VoteMessage = z.infer<typeof VoteMessage>;

/** A signed cancellation (Snapshot's delete-proposal / cancel-proposal). */
export const CancelMessage = z.object({
  ...Signed,
  proposal: z.string().min(1).max(100),
});

const field = (name: string, type = "string") => ({ name, type });
const voteFields = (choice: string, from = "string", proposal = "string") => [
  field("from", from),
  field("space"),
  field("timestamp", "uint64"),
  field("proposal", proposal),
  field("choice", choice),
  field("reason"),
  field("app"),
  field("metadata"),
];
const proposalFields = (from: string) =>
  [
    ["from", from],
    ["space"],
    ["timestamp", "uint64"],
    ["type"],
    ["title"],
    ["body"],
    ["discussion"],
    ["choices", "string[]"],
    ["labels", "string[]"],
    ["start", "uint64"],
    ["end", "uint64"],
    ["snapshot", "uint64"],
    ["plugins"],
    ["privacy"],
    ["app"],
  ].map(([name, type]) => field(name as string, type));

/**
 * EIP-712 type sets Snapshot messages are signed with: snapshot.js 0.17.5's own (`sign/types.ts`),
 * and two older ones its sequencer still takes (`from` an address, `proposal` a bytes32). The
 * control plane knows every set by hash (snapshot.js's `hashedTypes.json`); these are the ones
 * the tools sign with, each held to that file by a test.
 */
export const SNAPSHOT_TYPES = {
  proposal: { Proposal: proposalFields("string") },
  proposalFromAddress: { Proposal: proposalFields("address") },
  vote: { Vote: voteFields("uint32") },
  voteArray: { Vote: voteFields("uint32[]") },
  voteString: { Vote: voteFields("string") },
  voteBytes32: { Vote: voteFields("uint32", "address", "bytes32") },
  cancel: { CancelProposal: [field("from"), field("space"), field("timestamp", "uint64"), field("proposal")] },
} as const;

/** Snapshot's EIP-712 domain: exactly this, no chain id, no verifying contract. */
export const SNAPSHOT_DOMAIN = { name: "snapshot", version: "0.1.4" } as const;

/** The sequencer's answer to an accepted message. */
export const MessageReceipt = z.object({ id: MessageId, kind: z.string() });
export type MessageReceipt = z.infer<typeof MessageReceipt>;

/** Why a message was refused: stable codes, each with its own sentence in `error_description`. */
export const RefusalReason = z.enum([
  "malformed",
  "too-large",
  "wrong-domain",
  "unknown-types",
  "unsupported-type",
  "bad-signature",
  "signer-mismatch",
  "timestamp-future",
  "timestamp-stale",
  "duplicate",
  "unknown-space",
  "unknown-proposal",
  "not-allowed",
  "invalid-proposal",
  "invalid-payload",
  "vote-not-started",
  "vote-ended",
  "invalid-choice",
  "no-voting-power",
  "power-unavailable",
]);
export type RefusalReason = z.infer<typeof RefusalReason>;

// ── Mesh policy: the closed set of changes a proposal may carry ────────────────────────────

/** Detector thresholds: the edge's link z-score, the flood rate (edge and node reflexes), TQ collapse (nodes). */
export const DetectorThreshold = z.strictObject({
  kind: z.literal("detector-threshold"),
  detector: z.enum(["link-zscore", "flood-pps", "tq-collapse-ratio"]),
  value: z.number().positive().max(1_000_000),
});

/** Guard rails of the Plan step and the nodes' reflexes. */
export const GuardRailLimit = z.strictObject({
  kind: z.literal("guard-rail"),
  limit: z.enum(["cooldown-seconds", "actions-per-node-per-minute", "isolate-ttl-seconds", "max-isolated-share"]),
  value: z.number().positive().max(86_400),
});

export const RevokeIdentity = z.strictObject({
  kind: z.literal("revoke-identity"),
  spiffeId: SpiffeIdString,
  reason: z.string().min(1).max(500),
});

export const ApproveFirmware = z.strictObject({
  kind: z.literal("approve-firmware"),
  version: z
    .string()
    .max(64)
    .regex(/^\d{1,9}\.\d{1,9}\.\d{1,9}(?:$|-[0-9A-Za-z.-]{1,40}$)/, "must be a semantic version"),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be the bundle's SHA-256, 64 lowercase hex digits"),
});

export const BundleRefreshHint = z.strictObject({
  kind: z.literal("bundle-refresh-hint"),
  seconds: z.number().int().min(30).max(86_400),
});

export const PolicyChange = z.discriminatedUnion("kind", [
  DetectorThreshold,
  GuardRailLimit,
  RevokeIdentity,
  ApproveFirmware,
  BundleRefreshHint,
]);
export type PolicyChange = z.infer<typeof PolicyChange>;

/**
 * An execution payload, carried in the proposal's `plugins` JSON as `{"x0tta6bl4": {...}}` (where
 * Snapshot's own execution plugins carry theirs). It runs when the proposal passes.
 */
export const ExecutionPayload = z.strictObject({
  changes: z.array(PolicyChange).min(1).max(daoLimits.changesPerProposal),
});
export type ExecutionPayload = z.infer<typeof ExecutionPayload>;
export const PLUGIN_KEY = "x0tta6bl4";

/** The settings proposals may set, by name; each component applies those it has over its own configuration. */
export const PolicySettings = z
  .object({
    linkZscore: z.number(),
    floodPps: z.number(),
    tqCollapseRatio: z.number(),
    cooldownSeconds: z.number(),
    actionsPerNodePerMinute: z.number(),
    isolateTtlSeconds: z.number(),
    maxIsolatedShare: z.number(),
    bundleRefreshHintSeconds: z.number(),
  })
  .partial();
export type PolicySettings = z.infer<typeof PolicySettings>;

/** The policy executed proposals set: unset settings keep the deployment's (and each node's) configuration. */
export const MeshPolicy = z.object({
  /** Bumped by every applied setting; nodes keep the highest they have verified. */
  revision: z.number().int().nonnegative(),
  settings: PolicySettings,
  approvedFirmware: z.array(z.object({ version: z.string(), sha256: z.string(), proposalId: z.string() })),
});
export type MeshPolicy = z.infer<typeof MeshPolicy>;

/**
 * The policy as the edge hands it to gateways and gateways publish it, retained, to every node:
 * `signed` is the `MeshPolicy` JSON signed with the control plane's action key (as actions are);
 * `revision` lets a relay order copies without opening them. A node trusts only what it verified.
 */
export const PolicyBroadcast = z.object({
  revision: z.number().int().nonnegative(),
  signed: SignedAction,
});
export type PolicyBroadcast = z.infer<typeof PolicyBroadcast>;

// ── Spaces ─────────────────────────────────────────────────────────────────────────────────

/** erc20-balance-of: power = balance ÷ 10^decimals at the proposal's snapshot block. */
export const VotingStrategy = z.strictObject({
  name: z.literal("erc20-balance-of"),
  token: Address,
  decimals: z.number().int().min(0).max(36),
  symbol: z.string().min(1).max(16),
  /** "balances": a table admins load; "rpc": `balanceOf` read over the deployment's JSON-RPC endpoint. */
  source: z.enum(["balances", "rpc"]).default("balances"),
});

/** An admin is a SPIFFE ID (for the API) or an address (for signed messages). */
const Admin = z.union([Address, SpiffeIdString]);

export const SpaceSettings = z.strictObject({
  name: z.string().trim().min(1).max(100),
  admins: z.array(Admin).min(1).max(50),
  /** Addresses that may propose without holding `proposalThreshold`. */
  members: z.array(Address).max(500).default([]),
  /** Voting power an address needs to propose; null: admins and members only. */
  proposalThreshold: z.number().nonnegative().nullable().default(null),
  /** Seconds from a proposal's signature to its start (0: any start at or after it). */
  votingDelay: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(0),
  /** Seconds of voting (0: whatever the proposal says, up to 90 days). */
  votingPeriod: z
    .number()
    .int()
    .min(0)
    .max(90 * 86_400)
    .default(0),
  /** The only voting type allowed, or any. */
  votingType: ProposalType.nullable().default(null),
  /** Voting power that must be cast for a result to count. */
  quorum: z.number().nonnegative().default(0),
  /**
   * Share of the cast power the first choice needs to pass, (0, 1]; for `basic`, For ÷ (For +
   * Against), abstentions counting toward quorum only.
   */
  threshold: z.number().gt(0).max(1).default(0.5),
  /** Seconds a passed proposal waits in the execution queue, cancellable by an admin. */
  timelock: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(86_400),
  strategy: VotingStrategy,
  /** A Snapshot space whose proposals, votes and scores this one mirrors from a hub's GraphQL API. */
  mirror: z
    .strictObject({
      /** The hub's GraphQL endpoint, e.g. https://hub.snapshot.org/graphql. */
      hub: z.url({ protocol: /^https?$/ }),
      space: z.string().min(1).max(100),
    })
    .nullable()
    .default(null),
});
export type SpaceSettings = z.infer<typeof SpaceSettings>;
export type SpaceSettingsInput = z.input<typeof SpaceSettings>;

export const SpaceView = SpaceSettings.extend({
  id: SpaceId,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  openProposals: z.number().int(),
});
export type SpaceView = z.infer<typeof SpaceView>;

export const SpacePath = z.object({ id: SpaceId });

/** Raw token balances (integers, as `balanceOf` returns them) at a block. */
export const BalancesUpload = z.strictObject({
  block: z.number().int().nonnegative(),
  balances: z
    .record(z.string().regex(/^0x[0-9a-fA-F]{40}$/), z.string().regex(/^\d{1,78}$/, "must be a non-negative integer"))
    .refine((b) => Object.keys(b).length <= daoLimits.balancesPerUpload, {
      message: `at most ${String(daoLimits.balancesPerUpload)} addresses per upload`,
    }),
});
export type BalancesUpload = z.infer<typeof BalancesUpload>;
export const BalancesReceipt = z.object({ block: z.number().int(), addresses: z.number().int() });

// ── Proposals, votes, tallies, executions ──────────────────────────────────────────────────

export const ProposalState = z.enum(["pending", "active", "closed", "cancelled"]);
export const ProposalResult = z.enum(["passed", "rejected", "no-quorum"]);

export const Tally = z.object({
  scores: z.array(z.number()),
  scoresTotal: z.number(),
  votes: z.number().int(),
  quorumMet: z.boolean(),
  /** The first choice's share (For's, for basic) against `threshold`. */
  approval: z.number(),
  result: ProposalResult.nullable(),
});
export type Tally = z.infer<typeof Tally>;

/** Where a record came from: verified here, or imported from a Snapshot hub (its word, not checked). */
export const Provenance = z.enum(["signed", "hub"]);

export const VoteChoice = z.union([z.number(), z.array(z.number()), z.record(z.string(), z.number())]);
export type VoteChoice = z.infer<typeof VoteChoice>;

export const VoteView = z.object({
  id: z.string(),
  voter: z.string(),
  choice: VoteChoice,
  power: z.number(),
  reason: z.string(),
  createdAt: z.iso.datetime(),
  provenance: Provenance,
});

export const ProposalView = z.object({
  id: z.string(),
  space: SpaceId,
  author: z.string(),
  type: ProposalType,
  title: z.string(),
  body: z.string(),
  choices: z.array(z.string()),
  start: z.iso.datetime(),
  end: z.iso.datetime(),
  snapshot: z.number().int(),
  state: ProposalState,
  payload: ExecutionPayload.nullable(),
  tally: Tally,
  provenance: Provenance,
  createdAt: z.iso.datetime(),
});
export type ProposalView = z.infer<typeof ProposalView>;

/** A proposal with its newest votes (`daoLimits.votesShown`; the tally counts them all). */
export const ProposalDetail = ProposalView.extend({ votes: z.array(VoteView).max(1000) });
export type ProposalDetail = z.infer<typeof ProposalDetail>;
export const ProposalList = z.object({ proposals: z.array(ProposalView) });
/** A proposal's id: its EIP-712 hash, or (mirrored from a hub) an early Snapshot proposal's IPFS CID. */
export const ProposalId = z.union([MessageId, z.string().regex(/^Qm[1-9A-HJ-NP-Za-km-z]{44}$/, "an IPFS CIDv0")]);
export const ProposalPath = z.object({ id: ProposalId });

/** What a sync from a Snapshot hub imported: the hub's word, stored as such, not verified here. */
export const HubSync = z.object({
  hub: z.string(),
  space: z.string(),
  proposals: z.number().int(),
  votes: z.number().int(),
  /** Proposals of a voting type this control plane does not tally (copeland, custom), left out. */
  skipped: z.number().int(),
});
export type HubSync = z.infer<typeof HubSync>;

export const ExecutionState = z.enum(["queued", "running", "done", "failed", "cancelled"]);
export const ExecutionStep = z.object({
  index: z.number().int(),
  change: PolicyChange,
  state: z.enum(["pending", "applied", "failed"]),
  at: z.iso.datetime().nullable(),
  error: z.string().nullable(),
});
export const ExecutionView = z.object({
  proposalId: z.string(),
  space: SpaceId,
  state: ExecutionState,
  eta: z.iso.datetime(),
  steps: z.array(ExecutionStep),
  error: z.string().nullable(),
  cancelledBy: z.string().nullable(),
  updatedAt: z.iso.datetime(),
});
export type ExecutionView = z.infer<typeof ExecutionView>;
export const ExecutionList = z.object({ executions: z.array(ExecutionView) });
export const ExecutionRun = z.object({ closed: z.number().int(), executed: z.array(ExecutionView) });

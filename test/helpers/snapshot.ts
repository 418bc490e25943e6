import type { LocalAccount } from "viem";

/**
 * Type sets snapshot.js signs with (0.17.5's `sign/types.ts`), and two older ones the sequencer
 * still accepts: `from` as an address and `proposal` as a bytes32. A test holds each to
 * snapshot.js's `hashedTypes.json`.
 */
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
const proposalFields = (from: string) => [
  field("from", from),
  field("space"),
  field("timestamp", "uint64"),
  field("type"),
  field("title"),
  field("body"),
  field("discussion"),
  field("choices", "string[]"),
  field("labels", "string[]"),
  field("start", "uint64"),
  field("end", "uint64"),
  field("snapshot", "uint64"),
  field("plugins"),
  field("privacy"),
  field("app"),
];

export const snapshotTypes = {
  proposal: { Proposal: proposalFields("string") },
  proposalFromAddress: { Proposal: proposalFields("address") },
  vote: { Vote: voteFields("uint32") },
  voteArray: { Vote: voteFields("uint32[]") },
  voteString: { Vote: voteFields("string") },
  voteBytes32: { Vote: voteFields("uint32", "address", "bytes32") },
  cancel: {
    CancelProposal: [field("from"), field("space"), field("timestamp", "uint64"), field("proposal")],
  },
} as const;

export const SNAPSHOT_DOMAIN = { name: "snapshot", version: "0.1.4" } as const;

export interface Envelope {
  address: string;
  sig: string;
  data: {
    domain: Record<string, unknown>;
    types: Record<string, readonly { name: string; type: string }[]>;
    message: Record<string, unknown>;
  };
}

/** Signs as `Client712.sign` does: EIP-712 over Snapshot's domain, `from` the signer. */
export async function signEnvelope(
  account: LocalAccount,
  types: Record<string, readonly { name: string; type: string }[]>,
  message: Record<string, unknown>,
  domain: Record<string, unknown> = SNAPSHOT_DOMAIN,
): Promise<Envelope> {
  const full = { from: account.address, ...message };
  const primaryType = Object.keys(types)[0] ?? "";
  const sig = await account.signTypedData({ domain, types, primaryType, message: full });
  return { address: account.address, sig, data: { domain, types, message: full } };
}

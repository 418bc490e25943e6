import { hashTypedData, verifyTypedData, type TypedDataDefinition } from "viem";
import type { z } from "zod";
import {
  daoLimits,
  describeIssues,
  SNAPSHOT_DOMAIN,
  SnapshotEnvelope,
  type RefusalReason,
} from "../../../protocol/index.js";
import { isHandled, kindOfTypes, type HandledKind } from "./types.js";

/** A refusal with its stable reason and a sentence for the sender (the sequencer's `error_description`). */
export class Refused extends Error {
  constructor(
    readonly reason: RefusalReason,
    readonly description: string,
  ) {
    super(description);
    this.name = "Refused";
  }
}

export interface VerifiedMessage {
  /** The EIP-712 hash, lowercase: the message's id. */
  id: `0x${string}`;
  kind: HandledKind;
  /** Lowercase. */
  signer: `0x${string}`;
  message: Record<string, unknown>;
  envelope: SnapshotEnvelope;
  timestamp: number;
}

/** Checks a contract wallet's signature (EIP-1271) over `hash`; absent when no JSON-RPC endpoint is configured. */
export type ContractSignatureCheck = (
  address: `0x${string}`,
  hash: `0x${string}`,
  sig: `0x${string}`,
) => Promise<boolean>;

export interface VerifyOptions {
  nowMs: number;
  contractSignatures?: ContractSignatureCheck | undefined;
}

/** Verifies a posted envelope as Snapshot's sequencer does; throws `Refused` with the first reason found. */
export async function verifyEnvelope(body: string, options: VerifyOptions): Promise<VerifiedMessage> {
  if (new TextEncoder().encode(body).length > daoLimits.messageBytes)
    throw new Refused("too-large", `the message exceeds ${String(daoLimits.messageBytes)} bytes`);
  const raw = parseJson(body);
  const parsed = SnapshotEnvelope.safeParse(raw);
  if (!parsed.success) throw new Refused("malformed", `not a Snapshot envelope: ${describeIssue(parsed.error)}`);
  const envelope = parsed.data;
  checkDomain(envelope.data.domain);
  const kind = await kindOfTypes(JSON.stringify((raw as { data: { types: unknown } }).data.types));
  if (kind === null) throw new Refused("unknown-types", "wrong types: snapshot.js defines no such type set");
  if (!isHandled(kind))
    throw new Refused("unsupported-type", `"${kind}" messages are not handled by this control plane`);
  const timestamp = checkTimestamp(envelope.data.message.timestamp, options.nowMs);
  const from = typeof envelope.data.message.from === "string" ? envelope.data.message.from.toLowerCase() : "";
  const address = envelope.address.toLowerCase();
  if (from !== address) throw new Refused("signer-mismatch", "wrong from: message.from is not the signing address");
  const typed = typedData(envelope);
  const id = messageHash(typed);
  const signer = address as `0x${string}`;
  await checkSignature(typed, id, signer, envelope.sig as `0x${string}`, options.contractSignatures);
  return { id, kind, signer, message: envelope.data.message, envelope, timestamp };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new Refused("malformed", "the body is not JSON");
  }
}

/** A zod error's first issue, as one line for the sender. */
export const describeIssue = (error: z.ZodError): string => {
  const [issue] = describeIssues(error);
  return issue ? `${issue.path}: ${issue.message}` : "invalid";
};

function checkDomain(domain: Record<string, unknown>): void {
  const keys = Object.keys(domain).sort();
  if (
    keys.join() !== "name,version" ||
    domain.name !== SNAPSHOT_DOMAIN.name ||
    domain.version !== SNAPSHOT_DOMAIN.version
  )
    throw new Refused("wrong-domain", `wrong domain: must be exactly ${JSON.stringify(SNAPSHOT_DOMAIN)}`);
}

function checkTimestamp(value: unknown, nowMs: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    throw new Refused("malformed", "message.timestamp must be an integer number of seconds");
  const now = Math.floor(nowMs / 1000);
  if (value > now + daoLimits.futureSkewS)
    throw new Refused(
      "timestamp-future",
      `wrong timestamp: ${String(value - now)} s in the future (at most ${String(daoLimits.futureSkewS)})`,
    );
  if (value < now - daoLimits.maxAgeS)
    throw new Refused("timestamp-stale", `wrong timestamp: older than ${String(daoLimits.maxAgeS / 86_400)} days`);
  return value;
}

function typedData(envelope: SnapshotEnvelope): TypedDataDefinition {
  const { domain, types, message } = envelope.data;
  const primaryType = Object.keys(types)[0] ?? "";
  // The type set was identified by its hash as one of snapshot.js's: a definition viem can encode.
  return { domain, types, primaryType, message } as unknown as TypedDataDefinition;
}

/** The EIP-712 hash; a message with a value outside its type (a negative uint, a short bytes32) cannot have one. */
function messageHash(typed: TypedDataDefinition): `0x${string}` {
  try {
    return hashTypedData(typed).toLowerCase() as `0x${string}`;
  } catch (error) {
    const first = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
    throw new Refused("malformed", `the message does not fit its types: ${first}`);
  }
}

async function checkSignature(
  typed: TypedDataDefinition,
  hash: `0x${string}`,
  address: `0x${string}`,
  sig: `0x${string}`,
  contractSignatures: ContractSignatureCheck | undefined,
): Promise<void> {
  const eoa = await verifyTypedData({ ...typed, address, signature: sig }).catch(() => false);
  if (eoa) return;
  if (!contractSignatures)
    throw new Refused(
      "bad-signature",
      "wrong signature (contract-wallet signatures, EIP-1271, are off: no DAO_RPC_URL is configured)",
    );
  if (!(await contractSignatures(address, hash, sig)))
    throw new Refused(
      "bad-signature",
      "wrong signature: neither the address's key nor its contract (EIP-1271) accepts it",
    );
}

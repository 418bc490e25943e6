import type { LocalAccount } from "viem";
import { SNAPSHOT_DOMAIN } from "../../protocol/index.js";

export { SNAPSHOT_DOMAIN, SNAPSHOT_TYPES as snapshotTypes } from "../../protocol/index.js";

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

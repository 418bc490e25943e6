import type { SpiffeBundle } from "../../protocol/index.js";
import type { Database } from "../db/client.js";
import type { Authority } from "./authority.js";
import { sha256Hex } from "../lib/digest.js";
import { bundleSequence } from "./store.js";

/** SPIFFE trust bundle: roots as `x509-svid` keys, the published JWT keys as `jwt-svid` keys. */
export async function currentBundle(
  db: Database,
  authority: Authority,
  refreshHintS: number,
  now: number,
): Promise<SpiffeBundle> {
  const fingerprint = await sha256Hex(JSON.stringify(authority.bundleKeys));
  return {
    keys: authority.bundleKeys,
    spiffe_sequence: await bundleSequence(db, fingerprint, now),
    spiffe_refresh_hint: refreshHintS,
  };
}

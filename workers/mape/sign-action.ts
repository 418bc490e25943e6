import type { Action, SignedAction } from "../../protocol/index.js";
import { sealEnvelope } from "../../spiffe/index.js";

/** Signs the action's exact JSON bytes with the control plane's Ed25519 action key, as a JWS. */
export function signAction(action: Action, privateKey: CryptoKey, kid: string): Promise<SignedAction> {
  return sealEnvelope(new TextEncoder().encode(JSON.stringify(action)), privateKey, kid);
}

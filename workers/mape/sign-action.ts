import type { Action, SignedAction } from "../../protocol/index.js";
import { sealEnvelope } from "../../spiffe/index.js";

/** Signs a value's exact JSON bytes with the control plane's Ed25519 action key, as a JWS nodes verify. */
export const signJson = (value: unknown, privateKey: CryptoKey, kid: string): Promise<SignedAction> =>
  sealEnvelope(new TextEncoder().encode(JSON.stringify(value)), privateKey, kid);

export const signAction = (action: Action, privateKey: CryptoKey, kid: string): Promise<SignedAction> =>
  signJson(action, privateKey, kid);

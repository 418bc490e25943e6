import { base64url, fromBase64url } from "./encoding.js";
import { Action, type ActionOutcome, type SignedAction } from "./mape.js";

type Key = Parameters<typeof crypto.subtle.sign>[1];
const ED25519 = { name: "Ed25519" } as const;

/** Signs the action's exact JSON bytes with the control plane's Ed25519 action key. */
export async function signAction(action: Action, privateKey: Key, kid: string): Promise<SignedAction> {
  const bytes = new TextEncoder().encode(JSON.stringify(action));
  const signature = await crypto.subtle.sign(ED25519, privateKey, bytes);
  return { v: 1, payload: base64url(bytes), signature: base64url(signature), kid };
}

/** Why a signed action was refused, as a stable code (the reason text says more). */
export type ActionRefusal = "unknown_key" | "not_base64url" | "bad_signature" | "not_json" | "malformed" | "wrong_node" | "expired";

export type OpenedAction =
  | { ok: true; action: Action }
  | { ok: false; outcome: Extract<ActionOutcome, "rejected" | "expired">; refusal: ActionRefusal; reason: string; action?: Action };

const refused = (refusal: Exclude<ActionRefusal, "expired">, reason: string, action?: Action): OpenedAction => ({ ok: false, outcome: "rejected", refusal, reason, ...(action ? { action } : {}) });

/**
 * Verifies before it parses: an action is only read once its signature checks out against a
 * key the node trusts; then its schema, its addressee and its expiry are checked.
 */
export async function openSignedAction(signed: SignedAction, keys: ReadonlyMap<string, Key>, nodeId: string, now: number): Promise<OpenedAction> {
  const key = keys.get(signed.kid);
  if (!key) return refused("unknown_key", `unknown signing key "${signed.kid.slice(0, 64)}"`);
  let bytes: Uint8Array;
  let signature: Uint8Array;
  try {
    bytes = fromBase64url(signed.payload);
    signature = fromBase64url(signed.signature);
  } catch {
    return refused("not_base64url", "payload or signature is not base64url");
  }
  if (!(await crypto.subtle.verify(ED25519, key, signature, bytes))) return refused("bad_signature", "signature does not verify");
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return refused("not_json", "signed payload is not JSON");
  }
  const parsed = Action.safeParse(json);
  if (!parsed.success) return refused("malformed", `unknown or malformed action: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  const action = parsed.data;
  if (action.nodeId !== nodeId) return refused("wrong_node", `addressed to ${action.nodeId}`, action);
  if (action.expiresAt <= now) return { ok: false, outcome: "expired", refusal: "expired", reason: `expired ${now - action.expiresAt} ms ago`, action };
  return { ok: true, action };
}

export async function importActionPublicKey(raw: string): Promise<Key> {
  return crypto.subtle.importKey("raw", fromBase64url(raw), ED25519, true, ["verify"]);
}

import { Action, type ActionKey, type ActionOutcome, type SignedAction } from "../../protocol/index.js";
import { fromBase64url, importEnvelopeKey, openEnvelope, type EnvelopeRefusal } from "../../spiffe/index.js";

/** Why a signed action was refused, as a stable code (the reason text says more). */
export type ActionRefusal = EnvelopeRefusal | "not_json" | "wrong_node" | "expired";

export type OpenedAction =
  | { ok: true; action: Action }
  | {
      ok: false;
      outcome: Extract<ActionOutcome, "rejected" | "expired">;
      refusal: ActionRefusal;
      reason: string;
      action?: Action;
    };

const refused = (refusal: Exclude<ActionRefusal, "expired">, reason: string, action?: Action): OpenedAction => ({
  ok: false,
  outcome: "rejected",
  refusal,
  reason,
  ...(action ? { action } : {}),
});

/**
 * Verifies before it parses: an action is only read once its JWS verifies with a key the node
 * trusts; then its schema, its addressee and its expiry are checked.
 */
export async function openSignedAction(
  signed: SignedAction,
  keys: ReadonlyMap<string, CryptoKey>,
  nodeId: string,
  now: number,
): Promise<OpenedAction> {
  const opened = await openEnvelope(signed, keys);
  if (!opened.ok) return refused(opened.refusal, opened.reason);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(opened.payload));
  } catch {
    return refused("not_json", "signed payload is not JSON");
  }
  const parsed = Action.safeParse(json);
  if (!parsed.success)
    return refused("malformed", `unknown or malformed action: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  const action = parsed.data;
  if (action.nodeId !== nodeId) return refused("wrong_node", `addressed to ${action.nodeId}`, action);
  if (action.expiresAt <= now)
    return {
      ok: false,
      outcome: "expired",
      refusal: "expired",
      reason: `expired ${now - action.expiresAt} ms ago`,
      action,
    };
  return { ok: true, action };
}

/** An action key as the control plane hands it out: raw Ed25519, base64url. */
export const importActionKey = (publicKey: string): Promise<CryptoKey> => importEnvelopeKey(fromBase64url(publicKey));

/** The control plane's action keys by `kid`: what verifies actions and the mesh policy. */
export async function importActionKeys(keys: readonly ActionKey[]): Promise<Map<string, CryptoKey>> {
  return new Map(await Promise.all(keys.map(async (k) => [k.kid, await importActionKey(k.publicKey)] as const)));
}

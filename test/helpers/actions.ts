import { randomUUID } from "node:crypto";
import { createActionKey } from "../../ctl/ca/authority.js";
import type { Action, ActionKey, ActionParams, SignedAction } from "../../protocol/index.js";
import { signAction, signJson } from "../../workers/mape/sign-action.js";

export interface TestSigner {
  key: ActionKey;
  sign(action: Action): Promise<SignedAction>;
  /** Any value signed as the control plane signs actions (the mesh policy). */
  signValue(value: unknown): Promise<SignedAction>;
}

/** An action key made as `x0ctl ca init` makes it, and a signer for it. */
export async function actionSigner(): Promise<TestSigner> {
  const key = await createActionKey();
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    Buffer.from(key.privateKeyPkcs8, "base64"),
    { name: "Ed25519" },
    false,
    ["sign"],
  );
  return {
    key: { kid: key.kid, publicKey: key.publicKey },
    sign: (action) => signAction(action, privateKey, key.kid),
    signValue: (value) => signJson(value, privateKey, key.kid),
  };
}

export function action(nodeId: string, params: ActionParams, overrides: Partial<Action> = {}): Action {
  const now = Date.now();
  return {
    v: 1,
    id: randomUUID(),
    nodeId,
    issuedAt: now,
    expiresAt: now + 30_000,
    idempotencyKey: `idem-${randomUUID()}`,
    decisionId: randomUUID(),
    params,
    ...overrides,
  };
}

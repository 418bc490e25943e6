import { FlattenedSign, errors, flattenedVerify, type FlattenedJWSInput, type JWSHeaderParameters } from "jose";

/**
 * A signed envelope: a JWS in the flattened JSON serialization (RFC 7515 §7.2.2) with an EdDSA
 * (Ed25519) signature and the key's `kid` in the protected header, so any JOSE library can check
 * one. The control plane's MAPE-K actions travel in it.
 */
export interface Envelope {
  protected: string;
  payload: string;
  signature: string;
}

export const ENVELOPE_ALGORITHM = "EdDSA";

export async function sealEnvelope(payload: Uint8Array, privateKey: CryptoKey, kid: string): Promise<Envelope> {
  const jws = await new FlattenedSign(payload).setProtectedHeader({ alg: ENVELOPE_ALGORITHM, kid }).sign(privateKey);
  return { protected: jws.protected ?? "", payload: jws.payload, signature: jws.signature };
}

/** Why an envelope was refused, as a stable code (the reason text says more). */
export type EnvelopeRefusal = "unknown_key" | "malformed" | "bad_signature";

export type OpenedEnvelope =
  { ok: true; payload: Uint8Array; kid: string } | { ok: false; refusal: EnvelopeRefusal; reason: string };

class UnknownKey extends Error {}

/** Verifies an envelope with the key its `kid` names; only EdDSA is accepted. */
export async function openEnvelope(envelope: Envelope, keys: ReadonlyMap<string, CryptoKey>): Promise<OpenedEnvelope> {
  let kid = "";
  try {
    const opened = await flattenedVerify(
      envelope as FlattenedJWSInput,
      (header: JWSHeaderParameters) => {
        kid = header.kid ?? "";
        const key = keys.get(kid);
        if (!key) throw new UnknownKey(`unknown signing key "${kid.slice(0, 64)}"`);
        return key;
      },
      { algorithms: [ENVELOPE_ALGORITHM] },
    );
    return { ok: true, payload: opened.payload, kid };
  } catch (error) {
    if (error instanceof UnknownKey) return { ok: false, refusal: "unknown_key", reason: error.message };
    if (error instanceof errors.JWSSignatureVerificationFailed)
      return { ok: false, refusal: "bad_signature", reason: "signature does not verify" };
    return {
      ok: false,
      refusal: "malformed",
      reason: error instanceof Error ? error.message.slice(0, 200) : "not a JWS",
    };
  }
}

export async function importEnvelopeKey(rawPublicKey: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", rawPublicKey, { name: "Ed25519" }, true, ["verify"]);
}

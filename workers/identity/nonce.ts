import { base64url, fromBase64url, sameBytes } from "../../spiffe/index.js";

/** Nonces carry their expiry and an HMAC: issuing one stores nothing, so the endpoint cannot fill D1. */
const RANDOM_BYTES = 16;
const MAC_BYTES = 16;

export async function issueNonce(key: CryptoKey, expiresAt: number): Promise<string> {
  const body = new Uint8Array(8 + RANDOM_BYTES);
  new DataView(body.buffer).setBigUint64(0, BigInt(expiresAt));
  crypto.getRandomValues(body.subarray(8));
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, body)).subarray(0, MAC_BYTES);
  const out = new Uint8Array(body.length + MAC_BYTES);
  out.set(body);
  out.set(mac, body.length);
  return base64url(out);
}

export type NonceCheck = { ok: true; expiresAt: number } | { ok: false; reason: string };

/** Authentic and unexpired; single use is enforced by the caller, which records spent nonces. */
export async function checkNonce(key: CryptoKey, nonce: string, now: number): Promise<NonceCheck> {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64url(nonce);
  } catch {
    return { ok: false, reason: "nonce is not base64url" };
  }
  if (bytes.length !== 8 + RANDOM_BYTES + MAC_BYTES)
    return { ok: false, reason: "nonce was not issued by this control plane" };
  const body = bytes.subarray(0, 8 + RANDOM_BYTES);
  const expected = new Uint8Array(await crypto.subtle.sign("HMAC", key, body)).subarray(0, MAC_BYTES);
  if (!sameBytes(expected, bytes.subarray(8 + RANDOM_BYTES)))
    return { ok: false, reason: "nonce was not issued by this control plane" };
  const expiresAt = Number(new DataView(body.buffer, body.byteOffset).getBigUint64(0));
  if (expiresAt <= now) return { ok: false, reason: "nonce has expired" };
  return { ok: true, expiresAt };
}

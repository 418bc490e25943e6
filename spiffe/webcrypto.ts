/** WebCrypto helpers the SPIFFE modules share, typed alike under Node's and workerd's typings. */

/** How WebCrypto imports a key. */
export interface KeyAlgorithm {
  name: string;
  namedCurve?: string;
  hash?: string;
}

/** RSA keys import with a hash; which one does not change the key. */
export function withHash(algorithm: KeyAlgorithm): KeyAlgorithm {
  return algorithm.name === "RSASSA-PKCS1-v1_5" && algorithm.hash === undefined
    ? { ...algorithm, hash: "SHA-256" }
    : algorithm;
}

/** Constant-time comparison of two byte strings (a MAC, a key): no early exit on the first difference. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** The two typings disagree on `exportKey`'s return type. */
export interface ExportedJwk {
  kty?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

export async function exportJwk(key: CryptoKey): Promise<ExportedJwk> {
  const exported: unknown = await crypto.subtle.exportKey("jwk", key);
  return exported as ExportedJwk;
}

export async function exportSpki(key: CryptoKey): Promise<Uint8Array> {
  const exported: unknown = await crypto.subtle.exportKey("spki", key);
  return new Uint8Array(exported as ArrayBuffer);
}

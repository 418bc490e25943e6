/** WebCrypto's key export, typed alike under Node's and workerd's typings (they disagree on its return type). */
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

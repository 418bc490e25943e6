/**
 * base64url without padding (RFC 4648 §5), as JOSE, JWK and SPIFFE bundles use it. Decoding is
 * strict: only the alphabet, no padding or white space, and the unused low bits of the last
 * character must be zero. Without that, one value has several spellings (a spent nonce could be
 * replayed by flipping its last character's spare bits).
 */
export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (const b of view) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export class Base64urlError extends Error {}

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** Decodes canonical base64url, or throws `Base64urlError`. */
export function fromBase64url(text: string): Uint8Array {
  if (!ALPHABET.test(text)) throw new Base64urlError("not base64url: a character outside A-Z a-z 0-9 - _");
  if (text.length % 4 === 1) throw new Base64urlError("not base64url: impossible length");
  const bytes = Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  if (base64url(bytes) !== text)
    throw new Base64urlError("not canonical base64url: the last character has unused bits set");
  return bytes;
}

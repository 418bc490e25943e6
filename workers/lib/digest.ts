/** SHA-256 by WebCrypto: stored hashes of join tokens, login codes and sessions, and fingerprints. */
export async function sha256(data: string | Uint8Array | ArrayBuffer): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export const sha256Hex = async (data: string): Promise<string> =>
  [...(await sha256(data))].map((b) => b.toString(16).padStart(2, "0")).join("");

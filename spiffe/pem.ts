const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----([^-]+)-----END \1-----/g;

/** The PEM blocks of one label (CERTIFICATE, PRIVATE KEY, …), in order. */
export function pemBlocks(pem: string, label: string): string[] {
  return [...pem.matchAll(PEM_BLOCK)].filter((m) => m[1] === label).map((m) => m[0]);
}

/** The DER bytes of a single-block PEM (certificate or PKCS#8 key). */
export function pemToDer(pem: string): Uint8Array {
  return Uint8Array.from(atob(pem.replace(/-----[^-]+-----|\s/g, "")), (c) => c.charCodeAt(0));
}

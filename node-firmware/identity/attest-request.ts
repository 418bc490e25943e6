import { attestationMessage, type AttestRequest } from "../../protocol/index.js";
import { sha256Hex } from "../lib/hash.js";
import { base64url, x509 } from "../../spiffe/index.js";

/** `CryptoKey` in both Node and workerd typings. */
export type Key = Parameters<typeof crypto.subtle.sign>[1];
export interface KeyPair {
  publicKey: Key;
  privateKey: Key;
}

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export const generateNodeKey = () =>
  crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as Promise<KeyPair>;
export const generateSvidKey = () => crypto.subtle.generateKey(EC, true, ["sign", "verify"]) as Promise<KeyPair>;

/** PKCS#10 request for an SVID key; it names the SPIFFE ID as its only SAN. */
export async function createCsr(svidKey: KeyPair, spiffeId?: string): Promise<x509.Pkcs10CertificateRequest> {
  return x509.Pkcs10CertificateRequestGenerator.create({
    keys: svidKey,
    signingAlgorithm: EC,
    extensions: spiffeId ? [new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffeId }])] : [],
  });
}

export type AttestClaim = { joinToken: string } | { spiffeId: string };

/** Builds the body of POST /api/v1/identity/attest: the node key signs nonce, CSR digest and claim. */
export async function buildAttestRequest(
  nonce: string,
  nodeKey: KeyPair,
  csr: x509.Pkcs10CertificateRequest,
  claim: AttestClaim,
): Promise<AttestRequest> {
  const digest = base64url(await crypto.subtle.digest("SHA-256", csr.rawData));
  const claimText = "joinToken" in claim ? `join-token:${await sha256Hex(claim.joinToken)}` : claim.spiffeId;
  const message = new TextEncoder().encode(attestationMessage(nonce, digest, claimText));
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, nodeKey.privateKey, message);
  // An OKP JWK's `x` is the raw public key, base64url: the form the API takes.
  const { x } = (await crypto.subtle.exportKey("jwk", nodeKey.publicKey)) as { x?: string };
  return { nonce, nodeKey: x ?? "", signature: base64url(signature), csr: csr.toString("pem"), ...claim };
}

import { base64url, x509 } from "../../spiffe/index.js";
import type { Authority } from "./authority.js";
import { sha256 } from "../lib/digest.js";

const EC_SIGN = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
/** The SPIFFE X509-SVID ceiling this system keeps; config may lower it, never raise it. */
export const MAX_SVID_TTL_S = 3600;
const BACKDATE_MS = 10_000;

export class CsrError extends Error {}

const OID = { basicConstraints: "2.5.29.19", keyUsage: "2.5.29.15", subjectAltName: "2.5.29.17" } as const;

export interface CheckedCsr {
  publicKey: x509.PublicKey;
  /** SHA-256 of the CSR's DER, base64url: what the node signed over. */
  digest: string;
}

/** CSR extensions come back generic; re-read the requested one as its typed class. */
function requested<T extends x509.Extension>(
  csr: x509.Pkcs10CertificateRequest,
  type: new (raw: BufferSource) => T,
  oid: string,
): T | null {
  const raw = csr.getExtension(oid);
  return raw ? new type(raw.rawData) : null;
}

/**
 * A CSR is acceptable when its self-signature verifies, its key is P-256, and it asks for nothing
 * beyond the SVID: no CA, no certificate signing, and no SAN other than the SPIFFE ID being issued.
 */
export async function checkCsr(pem: string, spiffeId: string): Promise<CheckedCsr> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch {
    throw new CsrError("CSR is not a parsable PKCS#10 request");
  }
  const algorithm = csr.publicKey.algorithm as { name: string; namedCurve?: string };
  if (algorithm.name !== "ECDSA" || algorithm.namedCurve !== "P-256") throw new CsrError("CSR key must be ECDSA P-256");
  if (!(await csr.verify())) throw new CsrError("CSR signature does not match its key");
  const basic = requested(csr, x509.BasicConstraintsExtension, OID.basicConstraints);
  if (basic?.ca) throw new CsrError("CSR asks for a CA certificate");
  const usage = requested(csr, x509.KeyUsagesExtension, OID.keyUsage);
  if (usage && usage.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)) {
    throw new CsrError("CSR asks for certificate or CRL signing");
  }
  const sans = requested(csr, x509.SubjectAlternativeNameExtension, OID.subjectAltName)?.names.items ?? [];
  if (sans.some((san) => san.type !== "url" || san.value !== spiffeId)) {
    throw new CsrError(`CSR may name no SAN other than ${spiffeId}`);
  }
  return { publicKey: csr.publicKey, digest: base64url(await sha256(csr.rawData)) };
}

export interface IssuedSvid {
  certificates: string[];
  serial: string;
  notBefore: number;
  notAfter: number;
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01; // positive, and no leading zero byte to strip
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Signs an X.509-SVID (SPIFFE X509-SVID profile): exactly one URI SAN, cA=false, keyUsage
 * digitalSignature (critical), EKU serverAuth+clientAuth, lifetime ≤ 1 h and never past the
 * issuer's own expiry, notBefore backdated 10 s for clock skew (within the hour).
 */
export async function issueX509Svid(
  authority: Authority,
  spiffeId: string,
  publicKey: x509.PublicKey,
  ttlSeconds: number,
  now: number,
): Promise<IssuedSvid> {
  const issuer = authority.signer.chain[0] as x509.X509Certificate;
  // The lifetime (notAfter - notBefore) stays within the ceiling, backdating included: verifiers
  // refuse anything longer than an hour.
  const lifetimeMs = Math.min(ttlSeconds, MAX_SVID_TTL_S) * 1000;
  const notBefore = now - Math.min(BACKDATE_MS, lifetimeMs / 10);
  const notAfter = Math.min(notBefore + lifetimeMs, issuer.notAfter.getTime());
  const serial = randomSerial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `O=${authority.trustDomain}`,
    issuer: issuer.subject,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    signingAlgorithm: EC_SIGN,
    publicKey,
    signingKey: authority.signer.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffeId }], true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer),
    ],
  });
  return { certificates: [cert.toString("pem"), ...authority.signer.chainPem], serial, notBefore, notAfter };
}

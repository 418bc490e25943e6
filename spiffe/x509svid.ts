import { parseSpiffeId, type SpiffeId } from "./id.js";
import { pemBlocks, pemToDer } from "./pem.js";
import { exportJwk, sameBytes, withHash, type KeyAlgorithm } from "./webcrypto.js";
import { x509 } from "./x509.js";

/**
 * The rules of the SPIFFE X.509-SVID specification (X509-SVID.md §4, §5) this module enforces,
 * as stable codes: each refusal names the one rule it broke.
 */
export type X509SvidRule =
  | "unparsable"
  | "empty-chain"
  | "leaf-uri-san-count"
  | "leaf-spiffe-id"
  | "leaf-id-without-path"
  | "leaf-ca"
  | "leaf-no-digital-signature"
  | "leaf-key-cert-sign"
  | "leaf-crl-sign"
  | "signing-not-ca"
  | "signing-no-key-cert-sign"
  | "signing-path-length"
  | "chain-order"
  | "chain-signature"
  | "untrusted"
  | "not-yet-valid"
  | "expired"
  | "key-mismatch";

export class X509SvidError extends Error {
  constructor(
    readonly rule: X509SvidRule,
    message: string,
  ) {
    super(message);
  }
}

type Certificate = x509.X509Certificate;
type CertificateInput = Certificate | Uint8Array | string;

const fail = (rule: X509SvidRule, message: string): never => {
  throw new X509SvidError(rule, message);
};

function certificateOf(input: CertificateInput): Certificate {
  if (input instanceof x509.X509Certificate) return input;
  try {
    return new x509.X509Certificate(input);
  } catch {
    return fail("unparsable", "certificate does not parse as X.509");
  }
}

const basicConstraints = (cert: Certificate) => cert.getExtension(x509.BasicConstraintsExtension);
const keyUsages = (cert: Certificate) => cert.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
const hasUsage = (cert: Certificate, flag: x509.KeyUsageFlags) => (keyUsages(cert) & flag) !== 0;

/**
 * The leaf rules (X509-SVID §4.1, §4.3): exactly one URI SAN, a SPIFFE ID with a non-empty path,
 * cA false, keyUsage with digitalSignature and without keyCertSign or cRLSign. Returns its ID.
 */
export function checkLeaf(leaf: Certificate): SpiffeId {
  const uris = (leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? []).filter(
    (n) => n.type === "url",
  );
  if (uris.length !== 1) fail("leaf-uri-san-count", `leaf must have exactly one URI SAN, has ${uris.length}`);
  const parsed = parseSpiffeId((uris[0] as { value: string }).value);
  if (!parsed.ok) return fail("leaf-spiffe-id", `leaf URI SAN is not a SPIFFE ID: ${parsed.reason}`);
  if (parsed.id.path === "")
    fail("leaf-id-without-path", "leaf SPIFFE ID must have a path (a trust domain alone names no workload)");
  if (basicConstraints(leaf)?.ca === true) fail("leaf-ca", "leaf must not be a CA (basicConstraints cA is true)");
  if (!hasUsage(leaf, x509.KeyUsageFlags.digitalSignature))
    fail("leaf-no-digital-signature", "leaf keyUsage must include digitalSignature");
  if (hasUsage(leaf, x509.KeyUsageFlags.keyCertSign))
    fail("leaf-key-cert-sign", "leaf keyUsage must not include keyCertSign");
  if (hasUsage(leaf, x509.KeyUsageFlags.cRLSign)) fail("leaf-crl-sign", "leaf keyUsage must not include cRLSign");
  return parsed.id;
}

/**
 * The signing-certificate rules (X509-SVID §4.1, §4.3): cA true and keyUsage keyCertSign; and
 * (RFC 5280 §4.2.1.9) no more intermediates below it than its pathLenConstraint allows.
 */
export function checkSigningCertificate(cert: Certificate, intermediatesBelow = 0): void {
  const constraints = basicConstraints(cert);
  if (constraints?.ca !== true)
    fail("signing-not-ca", `signing certificate ${cert.subject} is not a CA (basicConstraints cA must be true)`);
  if (!hasUsage(cert, x509.KeyUsageFlags.keyCertSign))
    fail("signing-no-key-cert-sign", `signing certificate ${cert.subject} keyUsage must include keyCertSign`);
  const limit = constraints?.pathLength;
  if (limit !== undefined && intermediatesBelow > limit) {
    fail(
      "signing-path-length",
      `signing certificate ${cert.subject} allows ${limit} intermediates below it, has ${intermediatesBelow}`,
    );
  }
}

function checkValidity(cert: Certificate, now: Date): void {
  if (now < cert.notBefore)
    fail("not-yet-valid", `${cert.subject} is not valid before ${cert.notBefore.toISOString()}`);
  if (now > cert.notAfter) fail("expired", `${cert.subject} expired at ${cert.notAfter.toISOString()}`);
}

export interface VerifiedX509Svid {
  id: SpiffeId;
  /** Leaf first, up to and including the trusted root it chains to. */
  chain: Certificate[];
}

interface CheckedChain {
  id: SpiffeId;
  /** As presented. */
  chain: Certificate[];
  /** The bundle roots that may have issued its last certificate; empty when it is a root itself. */
  anchors: Certificate[];
}

function checkChain(
  chainInput: readonly CertificateInput[],
  roots: readonly Certificate[],
  now: Date,
  trustDomain: string | undefined,
): CheckedChain {
  if (chainInput.length === 0) fail("empty-chain", "no certificates presented");
  const chain = chainInput.map(certificateOf);
  const id = checkLeaf(chain[0] as Certificate);
  if (trustDomain !== undefined && id.trustDomain !== trustDomain)
    fail("untrusted", `${id.uri} is not in trust domain ${trustDomain}`);
  chain.forEach((cert, index) => {
    if (index > 0) checkSigningCertificate(cert, index - 1);
    checkValidity(cert, now);
    const issuer = chain[index + 1];
    if (issuer && cert.issuer !== issuer.subject)
      fail("chain-order", `${cert.subject} is not issued by the next certificate in the chain (${issuer.subject})`);
  });
  const top = chain[chain.length - 1] as Certificate;
  const topDer = new Uint8Array(top.rawData);
  if (roots.some((root) => sameBytes(new Uint8Array(root.rawData), topDer))) return { id, chain, anchors: [] };
  // Several roots may share a name (a root rotated under the same subject): each is a candidate.
  const anchors = roots.filter((candidate) => candidate.subject === top.issuer);
  if (anchors.length === 0) fail("untrusted", `${top.subject} does not chain to a root of the trust bundle`);
  for (const anchor of anchors) {
    checkSigningCertificate(anchor, chain.length - 1);
    checkValidity(anchor, now);
  }
  return { id, chain, anchors };
}

/**
 * Every rule of an X.509-SVID chain (leaf first, then its intermediates, optionally ending in the
 * root) that needs no signature check: the leaf and signing-certificate rules, the trust domain,
 * the issuer-subject linkage, each certificate's validity at `now`, and that the chain ends at a
 * root of the bundle or at a certificate one of them names as issuer. Synchronous, for TLS hooks
 * that cannot wait; `verifyX509Svid` adds the signatures.
 */
export function checkX509SvidChain(
  chainInput: readonly CertificateInput[],
  roots: readonly Certificate[],
  now: Date,
  trustDomain?: string,
): VerifiedX509Svid {
  const { id, chain, anchors } = checkChain(chainInput, roots, now, trustDomain);
  return { id, chain: anchors[0] ? [...chain, anchors[0]] : chain };
}

/**
 * Verifies an X.509-SVID chain against the X.509 authorities of its trust domain's bundle, in
 * project code: `checkX509SvidChain`, then every signature along the chain up to a root.
 */
export async function verifyX509Svid(
  chainInput: readonly CertificateInput[],
  roots: readonly Certificate[],
  now: Date,
  trustDomain?: string,
): Promise<VerifiedX509Svid> {
  const { id, chain, anchors } = checkChain(chainInput, roots, now, trustDomain);
  for (let i = 0; i + 1 < chain.length; i++) {
    const cert = chain[i] as Certificate;
    const issuer = chain[i + 1] as Certificate;
    if (!(await signedBy(cert, issuer)))
      fail("chain-signature", `${cert.subject}'s signature does not verify with ${issuer.subject}'s key`);
  }
  if (anchors.length === 0) return { id, chain };
  const top = chain[chain.length - 1] as Certificate;
  for (const anchor of anchors) {
    if (await signedBy(top, anchor)) return { id, chain: [...chain, anchor] };
  }
  return fail("untrusted", `${top.subject} is not signed by any root of the trust bundle named ${top.issuer}`);
}

async function signedBy(cert: Certificate, issuer: Certificate): Promise<boolean> {
  try {
    return await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

export interface X509Svid {
  id: SpiffeId;
  /** Leaf first, then the intermediates that signed it. */
  certificates: Certificate[];
  privateKey: CryptoKey;
}

/**
 * Parses an X.509-SVID from PEM, as go-spiffe's `x509svid.Parse`: the chain (leaf first) held to
 * the leaf and signing-certificate rules, and a PKCS#8 private key that must be the leaf's.
 * Does not check a chain of trust: that is `verifyX509Svid`'s work.
 */
export async function parseX509Svid(chainPem: string, keyPem: string): Promise<X509Svid> {
  const certificates = pemBlocks(chainPem, "CERTIFICATE").map(certificateOf);
  if (certificates.length === 0) fail("empty-chain", "no CERTIFICATE block in the PEM");
  const id = checkLeaf(certificates[0] as Certificate);
  certificates.slice(1).forEach((cert, index) => {
    checkSigningCertificate(cert, index);
  });
  const leaf = certificates[0] as Certificate;
  const privateKey = await importLeafKey(keyPem, leaf);
  return { id, certificates, privateKey };
}

/** Imports the PKCS#8 key with the leaf's algorithm and checks its public half is the leaf's. */
async function importLeafKey(keyPem: string, leaf: Certificate): Promise<CryptoKey> {
  const block = pemBlocks(keyPem, "PRIVATE KEY")[0];
  if (!block) return fail("key-mismatch", "no PKCS#8 PRIVATE KEY block in the key PEM");
  const der = pemToDer(block);
  const algorithm = withHash(leaf.publicKey.algorithm as KeyAlgorithm);
  let privateKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey("pkcs8", der, algorithm, true, ["sign"]);
  } catch {
    return fail("key-mismatch", `private key is not a ${algorithm.name} key like the leaf's`);
  }
  const jwk = await exportJwk(privateKey);
  const leafJwk = await exportJwk(await leaf.publicKey.export(algorithm, ["verify"]));
  const publicParams = ["crv", "x", "y", "n", "e"] as const;
  if (publicParams.some((p) => jwk[p] !== leafJwk[p]))
    fail("key-mismatch", "private key does not belong to the leaf certificate");
  return crypto.subtle.importKey("pkcs8", der, algorithm, false, ["sign"]);
}

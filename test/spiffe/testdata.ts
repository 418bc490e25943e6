import { x509 } from "../../spiffe/index.js";

/**
 * Certificates for the SPIFFE X.509-SVID rules, made fresh by the tests (go-spiffe keeps such
 * testdata as files; here each is generated, so nothing expires in the repo).
 */
export const TD = "example.org";
const HOUR = 3600_000;

export type KeyKind = "P-256" | "P-384" | "P-521" | "RSA";

const ALGORITHMS: Record<
  KeyKind,
  { name: string; namedCurve?: string; hash: string; modulusLength?: number; publicExponent?: Uint8Array }
> = {
  "P-256": { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" },
  "P-384": { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" },
  "P-521": { name: "ECDSA", namedCurve: "P-521", hash: "SHA-512" },
  RSA: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
};

export interface Issued {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  kind: KeyKind;
}

export interface CertSpec {
  subject: string;
  /** Absent: self-signed. */
  issuer?: Issued;
  /** Signs with this key instead of the issuer's (a forged signature under the issuer's name). */
  signingKey?: CryptoKey;
  kind?: KeyKind;
  ca?: boolean;
  pathLength?: number;
  /** Absent: no keyUsage extension at all. */
  usages?: number;
  uris?: string[];
  notBefore?: number;
  notAfter?: number;
}

let serial = 1;

export async function generateKeys(kind: KeyKind): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ALGORITHMS[kind], true, ["sign", "verify"])) as CryptoKeyPair;
}

export async function makeCert(spec: CertSpec): Promise<Issued> {
  const kind = spec.kind ?? "P-256";
  const keys = await generateKeys(kind);
  const now = Date.now();
  const extensions: x509.Extension[] = [];
  if (spec.ca !== undefined) extensions.push(new x509.BasicConstraintsExtension(spec.ca, spec.pathLength, true));
  // KeyUsageFlags is a bit set: combined flags are plain numbers.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
  if (spec.usages !== undefined) extensions.push(new x509.KeyUsagesExtension(spec.usages, true));
  if (spec.uris?.length)
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        spec.uris.map((value) => ({ type: "url" as const, value })),
        true,
      ),
    );
  const signerKind = spec.issuer?.kind ?? kind;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(4, "0"),
    subject: spec.subject,
    issuer: spec.issuer?.cert.subject ?? spec.subject,
    notBefore: new Date(spec.notBefore ?? now - 60_000),
    notAfter: new Date(spec.notAfter ?? now + HOUR),
    signingAlgorithm: ALGORITHMS[signerKind],
    publicKey: keys.publicKey,
    signingKey: spec.signingKey ?? spec.issuer?.keys.privateKey ?? keys.privateKey,
    extensions,
  });
  return { cert, keys, kind };
}

const U = x509.KeyUsageFlags;
export const CA_USAGES: number = U.keyCertSign | U.cRLSign;
export const LEAF_USAGES: number = U.digitalSignature;
export const WORKLOAD = `spiffe://${TD}/workload`;

export const makeRoot = (kind: KeyKind = "P-256", pathLength?: number) =>
  makeCert({
    subject: `CN=root ${kind}`,
    kind,
    ca: true,
    usages: CA_USAGES,
    uris: [`spiffe://${TD}`],
    ...(pathLength === undefined ? {} : { pathLength }),
  });
export const makeIntermediate = (issuer: Issued, overrides: Partial<CertSpec> = {}) =>
  makeCert({ subject: "CN=intermediate", issuer, ca: true, usages: CA_USAGES, ...overrides });
export const makeLeaf = (issuer: Issued, overrides: Partial<CertSpec> = {}) =>
  makeCert({ subject: "CN=leaf", issuer, ca: false, usages: LEAF_USAGES, uris: [WORKLOAD], ...overrides });

export async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", key)).toString("base64");
  return `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)?.join("\n") ?? ""}\n-----END PRIVATE KEY-----\n`;
}

export const pem = (...certs: Issued[]) => certs.map((c) => c.cert.toString("pem")).join("\n");

import type { webcrypto } from "node:crypto";
import { pemToDer, x509 } from "../../spiffe/index.js";
import type { ActionSigningKey, CaSecret, SigningCa } from "../../protocol/index.js";

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;

export interface KeyedCert {
  cert: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

const randomSerial = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER
  return Buffer.from(bytes).toString("hex");
};

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", key)).toString("base64");
  return `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)?.join("\n") ?? ""}\n-----END PRIVATE KEY-----\n`;
}

async function caExtensions(keys: webcrypto.CryptoKeyPair, pathLength: number): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
}

/** The offline root: kept by the operator, never given to the control plane. */
export async function createRoot(trustDomain: string, lifetimeDays = 3650): Promise<KeyedCert> {
  const keys = await crypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=x0tta6bl4 root CA, O=${trustDomain}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + lifetimeDays * DAY_MS),
    signingAlgorithm: EC,
    keys,
    extensions: [
      ...(await caExtensions(keys, 1)),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: `spiffe://${trustDomain}` }]),
    ],
  });
  return { cert, keys };
}

/** An intermediate the control plane signs SVIDs with; signed by the root. */
export async function createIntermediate(root: KeyedCert, trustDomain: string, lifetimeDays = 90): Promise<KeyedCert> {
  const keys = await crypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=x0tta6bl4 intermediate CA ${new Date(now).toISOString().slice(0, 10)}, O=${trustDomain}`,
    issuer: root.cert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(Math.min(now + lifetimeDays * DAY_MS, root.cert.notAfter.getTime())),
    signingAlgorithm: EC,
    publicKey: keys.publicKey,
    signingKey: root.keys.privateKey,
    extensions: [
      ...(await caExtensions(keys, 0)),
      await x509.AuthorityKeyIdentifierExtension.create(root.cert),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: `spiffe://${trustDomain}` }]),
    ],
  });
  return { cert, keys };
}

export async function signingCa(intermediate: KeyedCert): Promise<SigningCa> {
  return { chain: [intermediate.cert.toString("pem")], key: await pkcs8Pem(intermediate.keys.privateKey) };
}

export async function exportRootKey(root: KeyedCert): Promise<string> {
  return pkcs8Pem(root.keys.privateKey);
}

export async function importRoot(certPem: string, keyPem: string): Promise<KeyedCert> {
  const cert = new x509.X509Certificate(certPem);
  const der = pemToDer(keyPem);
  const privateKey = await crypto.subtle.importKey("pkcs8", der, EC, true, ["sign"]);
  const publicKey = await cert.publicKey.export(EC, ["verify"]);
  return { cert, keys: { privateKey, publicKey } };
}

/** The Ed25519 key the control plane signs MAPE-K actions with; kid = SHA-256 of the raw public key. */
export async function createActionKey(): Promise<ActionSigningKey> {
  const keys = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const raw = Buffer.from(await crypto.subtle.exportKey("raw", keys.publicKey));
  const kid = Buffer.from(await crypto.subtle.digest("SHA-256", raw))
    .toString("base64url")
    .slice(0, 22);
  return {
    kid,
    privateKeyPkcs8: Buffer.from(await crypto.subtle.exportKey("pkcs8", keys.privateKey)).toString("base64"),
    publicKey: raw.toString("base64url"),
  };
}

/** A fresh CA secret: one root (returned for offline keeping), one active intermediate, and the action key. */
export async function initCa(trustDomain: string): Promise<{ root: KeyedCert; secret: CaSecret }> {
  const root = await createRoot(trustDomain);
  const intermediate = await createIntermediate(root, trustDomain);
  const secret: CaSecret = {
    v: 1,
    trustDomain,
    roots: [root.cert.toString("pem")],
    active: await signingCa(intermediate),
    actionKey: await createActionKey(),
  };
  return { root, secret };
}

/** Longest an SVID signed by a CA may outlive its demotion: X.509-SVIDs (1 h) and JWT-SVIDs (5 min), plus a margin. */
const RETIRE_AFTER_MS = 3600_000 + 60_000;

/** SPIRE's "prepared" step: a next intermediate, published in the bundle before it signs anything. */
export async function prepareNext(secret: CaSecret, root: KeyedCert): Promise<CaSecret> {
  if (secret.next) throw new Error("a next CA is already prepared: promote it first");
  return { ...secret, next: await signingCa(await createIntermediate(root, secret.trustDomain)) };
}

/** The next CA starts signing; the former one stays published until everything it signed has expired. */
export function promoteNext(secret: CaSecret, now = Date.now()): CaSecret {
  if (!secret.next)
    throw new Error("no next CA is prepared: run prepare first, and publish it for at least one bundle refresh");
  const { next, ...rest } = secret;
  return {
    ...rest,
    active: next,
    previous: { chain: secret.active.chain, retireAt: new Date(now + RETIRE_AFTER_MS).toISOString() },
  };
}

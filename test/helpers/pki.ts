import { generateKeyPairSync } from "node:crypto";
import { initCa } from "../../ctl/ca/authority.js";
import type { CaSecret } from "../../protocol/index.js";
import { pemToDer } from "../../spiffe/index.js";

export const TEST_TRUST_DOMAIN = "x0tta6bl4.mesh";

export interface TestPki {
  caSecret: CaSecret;
  rootPem: string;
  admin: { name: string; publicKey: string; privateKeyPkcs8: string };
}

/** A fresh CA and one bootstrap admin, made with the same code `x0ctl ca init` runs. */
export async function createTestPki(): Promise<TestPki> {
  const { root, secret } = await initCa(TEST_TRUST_DOMAIN);
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const jwk = publicKey.export({ format: "jwk" });
  return {
    caSecret: secret,
    rootPem: root.cert.toString("pem"),
    admin: {
      name: "ops",
      publicKey: jwk.x as string,
      privateKeyPkcs8: privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
    },
  };
}

export const bootstrapAdminsJson = (pki: TestPki) =>
  JSON.stringify([{ name: pki.admin.name, key: pki.admin.publicKey }]);

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface Leaf {
  certificates: string[];
  keyPem: string;
  serial: string;
}

/** What a test leaf breaks of the X.509-SVID profile: a CA flag, or key usages beyond digitalSignature. */
export interface LeafProfile {
  ca?: boolean;
  usages?: number;
}

/**
 * A leaf signed by a CA secret's active intermediate with whatever validity and profile the test
 * needs (expired, over an hour, a CA flag, …): the cases the real issuer refuses to produce.
 */
export async function issueLeaf(
  secret: CaSecret,
  spiffeId: string,
  validity: { notBefore: number; notAfter: number },
  profile: LeafProfile = {},
): Promise<Leaf> {
  const { x509 } = await import("../../spiffe/index.js");
  const issuer = new x509.X509Certificate(secret.active.chain[0] as string);
  const signingKey = await crypto.subtle.importKey("pkcs8", pemToDer(secret.active.key), EC, false, ["sign"]);
  const keys = await crypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const serial = `7${Math.floor(Math.random() * 1e15).toString(16)}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: "O=test",
    issuer: issuer.subject,
    notBefore: new Date(validity.notBefore),
    notAfter: new Date(validity.notAfter),
    signingAlgorithm: EC,
    publicKey: keys.publicKey,
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(profile.ca ?? false, undefined, true),
      // KeyUsageFlags is a bit set: combined flags are plain numbers.
      // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
      new x509.KeyUsagesExtension(profile.usages ?? x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffeId }], true),
    ],
  });
  const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", keys.privateKey)).toString("base64");
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)?.join("\n") ?? ""}\n-----END PRIVATE KEY-----\n`;
  return { certificates: [cert.toString("pem"), ...secret.active.chain], keyPem, serial };
}

import { generateKeyPairSync } from "node:crypto";
import { initCa } from "../../ctl/ca/authority.js";
import type { CaSecret } from "../../protocol/index.js";

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
    admin: { name: "ops", publicKey: jwk.x as string, privateKeyPkcs8: privateKey.export({ format: "der", type: "pkcs8" }).toString("base64") },
  };
}

export const bootstrapAdminsJson = (pki: TestPki) => JSON.stringify([{ name: pki.admin.name, key: pki.admin.publicKey }]);

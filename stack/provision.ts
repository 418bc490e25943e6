import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createActionKey, Credential, exportRootKey, initCa } from "../ctl/index.js";
import { CaSecret, JoinTokenResponse, spiffeIdOf } from "../protocol/index.js";
import { callEdge, readOptional, writePrivate } from "../node-firmware/identity/index.js";

export const LOCAL_ADMIN = "local";

/** The local CA: made once per state folder, as `x0ctl ca init` would; the root key stays in `ca/`. */
export async function ensureCa(stateDir: string, trustDomain: string): Promise<CaSecret> {
  const dir = join(stateDir, "ca");
  const existing = await readOptional(join(dir, "x0-ca.json"));
  if (existing) {
    const secret = CaSecret.parse(JSON.parse(existing));
    if (secret.actionKey) return secret;
    // A CA made before actions were signed: give it its action key.
    const upgraded = { ...secret, actionKey: await createActionKey() };
    await writePrivate(join(dir, "x0-ca.json"), JSON.stringify(upgraded, null, 2));
    return upgraded;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { root, secret } = await initCa(trustDomain);
  await writeFile(join(dir, "root.pem"), root.cert.toString("pem"));
  await writePrivate(join(dir, "root-key.pem"), await exportRootKey(root));
  await writePrivate(join(dir, "x0-ca.json"), JSON.stringify(secret, null, 2));
  return secret;
}

export interface LocalAdmin {
  credential: Credential;
  credentialFile: string;
  /** `X0_BOOTSTRAP_ADMINS` for the Worker. */
  bootstrap: string;
}

/** The local admin x0ctl uses against the local stack; its public key is trusted by the Worker from config. */
export async function ensureLocalAdmin(stateDir: string, trustDomain: string, api: string): Promise<LocalAdmin> {
  const credentialFile = join(stateDir, "admin-credential.json");
  const existing = await readOptional(credentialFile);
  const keyPem = existing
    ? Credential.parse(JSON.parse(existing)).keyPem
    : generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  const publicKey = createPublicKey(createPrivateKey(keyPem)).export({ format: "jwk" }).x as string;
  const credential: Credential = { v: 1, api, spiffeId: spiffeIdOf.admin(trustDomain, LOCAL_ADMIN), keyPem };
  await writePrivate(credentialFile, JSON.stringify(credential, null, 2));
  return { credential, credentialFile, bootstrap: JSON.stringify([{ name: LOCAL_ADMIN, key: publicKey }]) };
}

export async function createJoinToken(
  api: string,
  adminJwt: string,
  nodeId: string,
  role: "node" | "gateway",
): Promise<string> {
  const body = JSON.stringify({ nodeId, role });
  const response = await callEdge(api, adminJwt, "/api/v1/identity/join-tokens", JoinTokenResponse, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return response.token;
}

import { env } from "cloudflare:workers";
import { AttestResponse, NonceResponse } from "../../protocol/index.js";
import {
  buildAttestRequest,
  createCsr,
  generateNodeKey,
  generateSvidKey,
  type AttestClaim,
  type KeyPair,
} from "../../node-firmware/identity/attest-request.js";
import { fromBase64url } from "../../spiffe/index.js";
import { fetchWorker, postJson } from "./client.js";

export const TD = "x0tta6bl4.mesh";

export async function nonce(): Promise<string> {
  return NonceResponse.parse(await (await fetchWorker("/api/v1/identity/nonce")).json()).nonce;
}

export async function adminKeyPair(): Promise<KeyPair> {
  const admin = JSON.parse(env.TEST_ADMIN) as { publicKey: string; privateKeyPkcs8: string };
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    Uint8Array.from(atob(admin.privateKeyPkcs8), (c) => c.charCodeAt(0)),
    { name: "Ed25519" },
    true,
    ["sign"],
  );
  const publicKey = await crypto.subtle.importKey("raw", fromBase64url(admin.publicKey), { name: "Ed25519" }, true, [
    "verify",
  ]);
  return { privateKey, publicKey };
}

export const adminSpiffeId = `spiffe://${TD}/admin/ops`;

export async function attestRaw(nodeKey: KeyPair, claim: AttestClaim, spiffeIdForCsr?: string): Promise<Response> {
  const csr = await createCsr(await generateSvidKey(), spiffeIdForCsr);
  return postJson("/api/v1/identity/attest", await buildAttestRequest(await nonce(), nodeKey, csr, claim));
}

export async function attestOk(nodeKey: KeyPair, claim: AttestClaim): Promise<AttestResponse> {
  const res = await attestRaw(nodeKey, claim);
  if (res.status !== 200) throw new Error(`attest failed: ${res.status} ${await res.text()}`);
  return AttestResponse.parse(await res.json());
}

/** A JWT-SVID of the bootstrap admin, obtained through the real attestation endpoint. */
export async function adminToken(): Promise<string> {
  return (await attestOk(await adminKeyPair(), { spiffeId: adminSpiffeId })).jwtSvid.token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export async function joinToken(admin: string, nodeId: string, role: "node" | "gateway" = "node"): Promise<string> {
  const res = await postJson("/api/v1/identity/join-tokens", { nodeId, role }, bearer(admin));
  if (res.status !== 201) throw new Error(`join token failed: ${res.status} ${await res.text()}`);
  return (await res.json<{ token: string }>()).token;
}

export { generateNodeKey };

import { readFile } from "node:fs/promises";
import { z } from "zod";
import { attest, importPkcs8 } from "../node-firmware/identity/index.js";

/** An admin identity x0ctl acts as: its SPIFFE ID and Ed25519 key (file mode 0600), and the API it belongs to. */
export const Credential = z.strictObject({
  v: z.literal(1),
  api: z.url(),
  spiffeId: z.string(),
  keyPem: z.string(),
});
export type Credential = z.infer<typeof Credential>;

export async function readCredential(file: string): Promise<Credential> {
  return Credential.parse(JSON.parse(await readFile(file, "utf8")));
}

/** A JWT-SVID for the admin, by proof of possession of its key over a fresh nonce. */
export async function adminToken(credential: Credential, api = credential.api): Promise<string> {
  const key = await importPkcs8(credential.keyPem, "ed25519");
  const { response } = await attest(api, key, { spiffeId: credential.spiffeId });
  return response.jwtSvid.token;
}

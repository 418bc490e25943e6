import { BootstrapAdmins, principalOf } from "../../protocol/index.js";
import { fromBase64url, parseSpiffeId } from "../../spiffe/index.js";
import type { Database } from "../db/client.js";
import type { Authority } from "./authority.js";
import { findRegistration } from "./store.js";

/** What proof of possession needs to know: where keys are registered, and the bootstrap admins' keys. */
export interface PossessionContext {
  db: Database;
  authority: Authority;
  bootstrapAdmins: string | undefined;
}

/** An Ed25519 signature by a raw public key (both base64url) over `message`; false for anything malformed. */
export async function verifyNodeSignature(nodeKey: string, signature: string, message: string): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey("raw", fromBase64url(nodeKey), { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify(
      { name: "Ed25519" },
      key,
      fromBase64url(signature),
      new TextEncoder().encode(message),
    );
  } catch {
    return false;
  }
}

/**
 * The key an identity of this trust domain proves itself with: registered at its first attestation,
 * or a bootstrap admin's.
 */
export async function registeredKey(
  ctx: PossessionContext,
  spiffeId: string,
): Promise<{ key: string } | { refused: string }> {
  const parsed = parseSpiffeId(spiffeId);
  if (!parsed.ok || !principalOf(parsed.id, ctx.authority.trustDomain))
    return { refused: "not an identity of this trust domain" };
  const key = (await findRegistration(ctx.db, spiffeId))?.nodeKey ?? bootstrapAdminKey(ctx, spiffeId);
  return key ? { key } : { refused: "no node key is registered for this SPIFFE ID" };
}

function bootstrapAdminKey(ctx: PossessionContext, spiffeId: string): string | undefined {
  if (!ctx.bootstrapAdmins) return undefined;
  const admins = BootstrapAdmins.safeParse(JSON.parse(ctx.bootstrapAdmins));
  if (!admins.success) return undefined;
  return admins.data.find((a) => `spiffe://${ctx.authority.trustDomain}/admin/${a.name}` === spiffeId)?.key;
}

import { mintJwtSvid as mint, validateJwtSvid, type MintedJwtSvid, type ValidatedJwtSvid } from "../../spiffe/index.js";
import type { Authority } from "./authority.js";

export const MAX_JWT_TTL_S = 300;

/** A JWT-SVID from the control plane's JWT signer, never living past the 5 min ceiling. */
export function mintJwtSvid(
  authority: Authority,
  spiffeId: string,
  audience: string[],
  ttlSeconds: number,
  now: number,
): Promise<MintedJwtSvid> {
  return mint(authority.jwtSigner, spiffeId, audience, Math.min(ttlSeconds, MAX_JWT_TTL_S), now);
}

/** Validated against this trust domain's bundle, as any receiver of JWT-SVIDs would. */
export function verifyJwtSvid(
  authority: Authority,
  token: string,
  audience: string,
  now: number,
): Promise<ValidatedJwtSvid> {
  return validateJwtSvid(token, authority.bundle, audience, now);
}

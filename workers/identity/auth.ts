import type { MiddlewareHandler } from "hono";
import { controlPlaneAudience, principalOf, type Principal } from "../../protocol/index.js";
import { JwtSvidError, type SpiffeId } from "../../spiffe/index.js";
import { recordRefusal } from "../audit/log.js";
import { openDatabase } from "../db/client.js";
import type { AppEnv } from "../env.js";
import { ProblemError } from "../http/problem.js";
import { requestSource } from "../http/source.js";
import { loadAuthority } from "./authority.js";
import { verifyJwtSvid } from "./jwtsvid.js";
import { isRevoked } from "./store.js";

const challenge = { "www-authenticate": 'Bearer realm="x0tta6bl4", error="invalid_token"' };

/**
 * Every API call but the public few carries a JWT-SVID whose audience is the control plane.
 * A token from a revoked identity is refused even before it expires.
 */
export const requireJwtSvid: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header);
  if (!match) throw new ProblemError("unauthorized", "Send a JWT-SVID as `Authorization: Bearer <token>`", { headers: challenge });
  const authority = await loadAuthority(c.env.X0_CA);
  const now = Date.now();
  const db = openDatabase(c.env.DB);
  let id: SpiffeId;
  try {
    ({ id } = await verifyJwtSvid(authority, match[1] as string, controlPlaneAudience(authority.trustDomain), now));
  } catch (error) {
    if (!(error instanceof JwtSvidError)) throw error;
    // Anonymous: counted per source and window, never a row per request.
    await recordRefusal(db, { reason: "auth.jwt-svid", source: requestSource(c), detail: `${c.req.path}: ${error.message}` });
    throw new ProblemError("unauthorized", `JWT-SVID refused: ${error.message}`, { headers: challenge });
  }
  const spiffeId = id.uri;
  const principal = principalOf(id, authority.trustDomain);
  if (!principal) throw new ProblemError("forbidden", `${spiffeId} is not an identity this API serves`);
  if (await isRevoked(db, spiffeId)) {
    await recordRefusal(db, { reason: "auth.revoked", source: spiffeId, detail: c.req.path });
    throw new ProblemError("revoked", `${spiffeId} is revoked`);
  }
  c.set("caller", { spiffeId, principal });
  return next();
};

/** Restricts a route to some kinds of principal. */
export function allow(...kinds: Principal["kind"][]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const caller = c.get("caller");
    if (!kinds.includes(caller.principal.kind)) {
      throw new ProblemError("forbidden", `${caller.spiffeId} may not ${c.req.method} ${c.req.path} (needs ${kinds.join(" or ")})`);
    }
    return next();
  };
}

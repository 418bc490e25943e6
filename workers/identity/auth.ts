import type { Context, MiddlewareHandler } from "hono";
import { controlPlaneAudience, principalOf, type Principal } from "../../protocol/index.js";
import { JwtSvidError, parseSpiffeId, type SpiffeId } from "../../spiffe/index.js";
import { sessionCaller } from "../dashboard/session.js";
import { recordRefusal } from "../audit/log.js";
import { openDatabase, type Database } from "../db/client.js";
import type { AppEnv } from "../env.js";
import { ProblemError } from "../http/problem.js";
import { requestSource } from "../http/source.js";
import { loadAuthority, type Authority } from "./authority.js";
import { verifyJwtSvid } from "./jwtsvid.js";
import { isRevoked } from "./store.js";

const challenge = { "www-authenticate": 'Bearer realm="x0tta6bl4", error="invalid_token"' };

/**
 * Who a request is: its JWT-SVID (audience the control plane), or, for a read sent without one,
 * the dashboard's session cookie. A refused token is counted per source, never stored per request.
 */
async function identify(c: Context<AppEnv>, authority: Authority, db: Database, now: number): Promise<SpiffeId> {
  const header = c.req.header("authorization");
  if (header === undefined) {
    const session = await sessionCaller(c, db, now);
    const parsed = session === undefined ? undefined : parseSpiffeId(session);
    if (parsed?.ok) return parsed.id;
  }
  const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header ?? "");
  if (!match)
    throw new ProblemError("unauthorized", "Send a JWT-SVID as `Authorization: Bearer <token>`", {
      headers: challenge,
    });
  try {
    return (await verifyJwtSvid(authority, match[1] as string, controlPlaneAudience(authority.trustDomain), now)).id;
  } catch (error) {
    if (!(error instanceof JwtSvidError)) throw error;
    await recordRefusal(db, {
      reason: "auth.jwt-svid",
      source: requestSource(c),
      detail: `${c.req.path}: ${error.message}`,
    });
    throw new ProblemError("unauthorized", `JWT-SVID refused: ${error.message}`, { headers: challenge });
  }
}

/** Every API call but the public few is identified; an identity revoked is refused even before its token expires. */
export const requireJwtSvid: MiddlewareHandler<AppEnv> = async (c, next) => {
  const authority = await loadAuthority(c.env.X0_CA);
  const now = Date.now();
  const db = openDatabase(c.env.DB);
  const id = await identify(c, authority, db, now);
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
      throw new ProblemError(
        "forbidden",
        `${caller.spiffeId} may not ${c.req.method} ${c.req.path} (needs ${kinds.join(" or ")})`,
      );
    }
    return next();
  };
}

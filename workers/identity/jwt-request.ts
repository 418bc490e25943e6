import { jwtSvidMessage, type JwtSvid, type JwtSvidRequest } from "../../protocol/index.js";
import { auditStatement, refusalUpsert } from "../audit/log.js";
import { ProblemError } from "../http/problem.js";
import { mintJwtSvid } from "./jwtsvid.js";
import { checkNonce } from "./nonce.js";
import { registeredKey, verifyNodeSignature, type PossessionContext } from "./possession.js";
import { isRevoked, spendNonce } from "./store.js";

export interface JwtRequestContext extends PossessionContext {
  ttlCeilingS: number;
  now: number;
  /** Where the request came from: refusals that name no registered identity are counted by it. */
  source: string;
}

/**
 * Mints a JWT-SVID for whoever proves possession of an identity's registered key over a fresh
 * nonce. Refusals issue nothing: audited against the identity when it is registered, counted per
 * source otherwise.
 */
export async function mintForPossession(ctx: JwtRequestContext, request: JwtSvidRequest): Promise<JwtSvid> {
  const { spiffeId, audience, nonce } = request;
  const refuse = async (kind: "unauthorized" | "revoked", reason: string, registered: boolean): Promise<never> => {
    await (registered
      ? auditStatement(
          ctx.db,
          { actor: spiffeId, action: "issue.jwt-svid", subject: spiffeId, outcome: "denied", detail: { reason } },
          ctx.now,
        )
      : refusalUpsert(
          ctx.db,
          { reason: "issue.jwt-svid", source: ctx.source, detail: `${spiffeId}: ${reason}` },
          ctx.now,
        ));
    throw new ProblemError(kind, `JWT-SVID refused: ${reason}`);
  };
  const key = await registeredKey(ctx, spiffeId);
  if ("refused" in key) return refuse("unauthorized", key.refused, false);
  const fresh = await checkNonce(ctx.authority.nonceKey, nonce, ctx.now);
  if (!fresh.ok) return refuse("unauthorized", fresh.reason, true);
  if (!(await verifyNodeSignature(key.key, request.signature, jwtSvidMessage(nonce, spiffeId, audience)))) {
    return refuse("unauthorized", "signature does not verify with the registered key", true);
  }
  if (!(await spendNonce(ctx.db, nonce, fresh.expiresAt, ctx.now)))
    return refuse("unauthorized", "nonce was already used", true);
  if (await isRevoked(ctx.db, spiffeId)) return refuse("revoked", `${spiffeId} is revoked`, true);
  const jwt = await mintJwtSvid(
    ctx.authority,
    spiffeId,
    audience,
    Math.min(request.ttlSeconds ?? ctx.ttlCeilingS, ctx.ttlCeilingS),
    ctx.now,
  );
  await auditStatement(
    ctx.db,
    { actor: spiffeId, action: "issue.jwt-svid", subject: spiffeId, outcome: "success", detail: { audience } },
    ctx.now,
  );
  return { token: jwt.token, expiresAt: new Date(jwt.expiresAt).toISOString() };
}

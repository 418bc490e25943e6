import type { MiddlewareHandler } from "hono";
import type { Principal } from "../../protocol/index.js";
import type { AppEnv } from "../env.js";
import { allow, requireJwtSvid } from "../identity/auth.js";
import { requireJsonBody } from "./body.js";

export const SECURITY_SCHEME = "jwtSvid";

/**
 * Route config for `createRoute`: who may call it (a JWT-SVID of one of `kinds`; "public" for
 * none) and whether it takes a JSON body. Authentication runs before the body is even read.
 */
export function guard(who: Principal["kind"][] | "public", options: { json?: boolean } = {}) {
  const middleware: MiddlewareHandler<AppEnv>[] = who === "public" ? [] : [requireJwtSvid, allow(...who)];
  if (options.json) middleware.push(requireJsonBody);
  return { middleware, ...(who === "public" ? {} : { security: [{ [SECURITY_SCHEME]: [] }] }) };
}

export const ANY_IDENTITY: Principal["kind"][] = ["admin", "gateway", "node", "service"];

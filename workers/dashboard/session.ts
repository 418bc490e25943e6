import { getCookie } from "hono/cookie";
import type { Context } from "hono";
import { sha256Hex } from "../lib/digest.js";
import type { Database } from "../db/client.js";
import { findSession } from "./store.js";

/** The dashboard's session cookie: HttpOnly (no script reads it), SameSite=Strict, host-only (no Domain). */
export const SESSION_COOKIE = "x0_session";
export const SESSION_TTL_S = 3600;
export const LOGIN_CODE_TTL_S = 60;

/**
 * The SPIFFE ID a request's session cookie stands for, if any. Only reads take a cookie: the
 * dashboard only reads, and a cookie must never be what authorizes a change.
 */
export async function sessionCaller(c: Context, db: Database, now: number): Promise<string | undefined> {
  if (c.req.method !== "GET" && c.req.method !== "HEAD") return undefined;
  const id = getCookie(c, SESSION_COOKIE);
  if (!id || id.length > 128) return undefined;
  return findSession(db, await sha256Hex(id), now);
}

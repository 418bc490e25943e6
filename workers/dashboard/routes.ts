import { createRoute, z } from "@hono/zod-openapi";
import { setCookie } from "hono/cookie";
import { DashboardLogin, LoginCode } from "../../protocol/index.js";
import { sha256Hex } from "../lib/digest.js";
import { base64url } from "../../spiffe/index.js";
import { audit } from "../audit/log.js";
import { openDatabase } from "../db/client.js";
import { guard } from "../http/guard.js";
import { createRouter, jsonBody, jsonResponse, problemResponses } from "../http/openapi.js";
import { ProblemError } from "../http/problem.js";
import { requestSource } from "../http/source.js";
import { recordRefusal } from "../audit/log.js";
import { dashboardPage } from "./page.js";
import { LOGIN_CODE_TTL_S, SESSION_COOKIE, SESSION_TTL_S } from "./session.js";
import { consumeLoginCode, createLoginCode, createSession } from "./store.js";

const tags = ["dashboard"];

const getDashboard = createRoute({
  method: "get",
  path: "/",
  summary: "The operators' dashboard (the page is public; its data needs a session from a login code)",
  tags,
  ...guard("public"),
  responses: { 200: { description: "HTML page", content: { "text/html": { schema: z.string() } } } },
});

const loginCodeRoute = createRoute({
  method: "post",
  path: "/api/v1/dashboard/login-codes",
  summary: "A single-use dashboard login code, valid 60 s (admins; `x0ctl dashboard` prints it in a URL fragment)",
  tags,
  ...guard(["admin"]),
  responses: { 201: jsonResponse(LoginCode, "The code; only its hash is stored"), ...problemResponses(401, 403) },
});

const sessionRoute = createRoute({
  method: "post",
  path: "/api/v1/dashboard/session",
  summary: "Exchange a login code for a session cookie (HttpOnly, SameSite=Strict, this origin only, 1 h, reads only)",
  tags,
  ...guard("public", { json: true }),
  request: { body: jsonBody(DashboardLogin) },
  responses: { 204: { description: "Session cookie set" }, ...problemResponses(400, 401, 403) },
});

const random = () => base64url(crypto.getRandomValues(new Uint8Array(32)));

export const dashboardRoutes = createRouter()
  .openapi(getDashboard, (c) => {
    const nonce = base64url(crypto.getRandomValues(new Uint8Array(16)));
    return c.html(dashboardPage(nonce), 200, {
      "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'`,
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
    });
  })
  .openapi(loginCodeRoute, async (c) => {
    const caller = c.get("caller");
    const code = random();
    const expiresAt = Date.now() + LOGIN_CODE_TTL_S * 1000;
    const db = openDatabase(c.env.DB);
    await createLoginCode(db, { codeHash: await sha256Hex(code), spiffeId: caller.spiffeId, expiresAt });
    await audit(db, {
      actor: caller.spiffeId,
      action: "dashboard.login-code",
      subject: caller.spiffeId,
      outcome: "success",
    });
    return c.json({ code, expiresAt: new Date(expiresAt).toISOString() }, 201);
  })
  .openapi(sessionRoute, async (c) => {
    // A browser names the page's origin on a POST: a code is only taken from a page of this origin.
    const origin = c.req.header("origin");
    if (origin !== undefined && origin !== new URL(c.req.url).origin)
      throw new ProblemError("forbidden", `a login from ${origin.slice(0, 128)} is not taken here`);
    const db = openDatabase(c.env.DB);
    const now = Date.now();
    const spiffeId = await consumeLoginCode(db, await sha256Hex(c.req.valid("json").code), now);
    if (!spiffeId) {
      await recordRefusal(
        db,
        { reason: "dashboard.login", source: requestSource(c), detail: "unknown, used or expired login code" },
        now,
      );
      throw new ProblemError(
        "unauthorized",
        "The login code is unknown, used or expired: run `npx x0ctl dashboard` for a fresh one",
      );
    }
    const id = random();
    await createSession(
      db,
      { idHash: await sha256Hex(id), spiffeId, createdAt: now, expiresAt: now + SESSION_TTL_S * 1000 },
      now,
    );
    setCookie(c, SESSION_COOKIE, id, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      maxAge: SESSION_TTL_S,
      secure: new URL(c.req.url).protocol === "https:",
    });
    return c.body(null, 204);
  });

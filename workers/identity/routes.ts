import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import {
  AttestRequest,
  AttestResponse,
  DenyEntry,
  DenyList,
  JoinTokenRequest,
  JoinTokenResponse,
  JwtSvid,
  JwtSvidRequest,
  NonceResponse,
  RevokeRequest,
  SpiffeBundle,
  spiffeIdOf,
} from "../../protocol/index.js";
import { audit, auditStatement, recordRefusal } from "../audit/log.js";
import { requestSource } from "../http/source.js";
import { openDatabase } from "../db/client.js";
import { readSettings, type Env, type Settings } from "../env.js";
import { loadPolicy } from "../dao/policy.js";
import { ANY_IDENTITY, guard } from "../http/guard.js";
import { createRouter, jsonBody, jsonResponse, problemResponses, rejectInvalidAndRecord } from "../http/openapi.js";
import { attest } from "./attest.js";
import { loadAuthority } from "./authority.js";
import { currentBundle } from "./bundle.js";
import { sha256Hex } from "../lib/digest.js";
import { base64url } from "../../spiffe/index.js";
import { mintForPossession } from "./jwt-request.js";
import { issueNonce } from "./nonce.js";
import { inSpan } from "../tracing/middleware.js";
import { createJoinToken, denyEntries, revocationInsert } from "./store.js";

/** The configuration, with the bundle refresh hint an executed governance proposal may have set. */
async function governedSettings(env: Env): Promise<Settings> {
  const settings = readSettings(env);
  const hint = (await loadPolicy(openDatabase(env.DB))).settings.bundleRefreshHintSeconds;
  return hint === undefined ? settings : { ...settings, bundleRefreshHintS: hint };
}
const NONCE_TTL_MS = 60_000;
const tags = ["identity"];

const nonceRoute = createRoute({
  method: "get",
  path: "/api/v1/identity/nonce",
  summary: "A fresh attestation nonce (single use, 60 s)",
  tags,
  ...guard("public"),
  responses: { 200: jsonResponse(NonceResponse, "Nonce to sign") },
});

const attestRoute = createRoute({
  method: "post",
  path: "/api/v1/identity/attest",
  summary: "Attest a node (join token, or proof of possession of its registered key) and issue its SVIDs",
  tags,
  ...guard("public", { json: true }),
  request: { body: jsonBody(AttestRequest) },
  responses: {
    200: jsonResponse(AttestResponse, "X.509-SVID, JWT-SVID and trust bundle"),
    ...problemResponses(400, 401, 403, 413, 415),
  },
});

const bundleRoute = createRoute({
  method: "get",
  path: "/api/v1/identity/bundle",
  summary: "SPIFFE trust bundle of this trust domain",
  tags,
  ...guard("public"),
  responses: { 200: jsonResponse(SpiffeBundle, "JWK Set with spiffe_sequence and spiffe_refresh_hint") },
});

const jwtSvidRoute = createRoute({
  method: "post",
  path: "/api/v1/identity/jwt-svid",
  summary: "Mint a JWT-SVID for an identity that proves possession of its registered key over a fresh nonce",
  description:
    "Sign `jwtSvidMessage(nonce, spiffeId, audience)` with the Ed25519 key registered at attestation. A bearer token alone never mints another.",
  tags,
  ...guard("public", { json: true }),
  request: { body: jsonBody(JwtSvidRequest) },
  responses: { 200: jsonResponse(JwtSvid, "Token"), ...problemResponses(400, 401, 403) },
});

const joinTokenRoute = createRoute({
  method: "post",
  path: "/api/v1/identity/join-tokens",
  summary: "Create a single-use join token for a node or gateway (admins)",
  tags,
  ...guard(["admin"], { json: true }),
  request: { body: jsonBody(JoinTokenRequest) },
  responses: {
    201: jsonResponse(JoinTokenResponse, "The token; only its hash is stored"),
    ...problemResponses(400, 401, 403),
  },
});

const revokeRoute = createRoute({
  method: "post",
  path: "/api/v1/identity/revoke",
  summary: "Put a SPIFFE ID or a certificate serial on the deny list (admins)",
  tags,
  ...guard(["admin"], { json: true }),
  request: { body: jsonBody(RevokeRequest) },
  responses: {
    201: jsonResponse(z.strictObject({ revoked: DenyEntry }), "Deny list entry"),
    ...problemResponses(400, 401, 403),
  },
});

const denyListRoute = createRoute({
  method: "get",
  path: "/api/v1/identity/denylist",
  summary: "Every revoked SPIFFE ID and serial",
  tags,
  ...guard(ANY_IDENTITY),
  responses: { 200: jsonResponse(DenyList, "Deny list"), ...problemResponses(401, 403) },
});

export const identityRoutes = createRouter()
  .openapi(nonceRoute, async (c) => {
    const authority = await loadAuthority(c.env.X0_CA);
    const expiresAt = Date.now() + NONCE_TTL_MS;
    return c.json(
      { nonce: await issueNonce(authority.nonceKey, expiresAt), expiresAt: new Date(expiresAt).toISOString() },
      200,
    );
  })
  .openapi(
    attestRoute,
    async (c) => {
      const ctx = {
        db: openDatabase(c.env.DB),
        authority: await loadAuthority(c.env.X0_CA),
        settings: await governedSettings(c.env),
        bootstrapAdmins: c.env.X0_BOOTSTRAP_ADMINS,
        now: Date.now(),
        source: requestSource(c),
      };
      const issued = await inSpan(c, "identity.attest", async (span) => {
        const response = await attest(ctx, c.req.valid("json"));
        span.setAttributes({
          "x0.identity.spiffe_id": response.spiffeId,
          "x0.identity.svid_expires_at": response.x509Svid.expiresAt,
        });
        return response;
      });
      return c.json(issued, 200);
    },
    rejectInvalidAndRecord(async (c, problem) => {
      const first = problem.extra.issues?.[0];
      await recordRefusal(openDatabase(c.env.DB), {
        reason: "attest.invalid",
        source: requestSource(c),
        detail: first && `${first.path}: ${first.message}`,
      });
    }),
  )
  .openapi(bundleRoute, async (c) => {
    const authority = await loadAuthority(c.env.X0_CA);
    return c.json(
      await currentBundle(
        openDatabase(c.env.DB),
        authority,
        (await governedSettings(c.env)).bundleRefreshHintS,
        Date.now(),
      ),
      200,
    );
  })
  .openapi(jwtSvidRoute, async (c) => {
    const request = c.req.valid("json");
    const ctx = {
      db: openDatabase(c.env.DB),
      authority: await loadAuthority(c.env.X0_CA),
      bootstrapAdmins: c.env.X0_BOOTSTRAP_ADMINS,
      ttlCeilingS: readSettings(c.env).jwtSvidTtlS,
      now: Date.now(),
      source: requestSource(c),
    };
    const jwt = await inSpan(c, "identity.jwt_svid", async (span) => {
      span.setAttributes({
        "x0.identity.spiffe_id": request.spiffeId,
        "x0.identity.audience": request.audience.join(" "),
      });
      return mintForPossession(ctx, request);
    });
    return c.json(jwt, 200);
  })
  .openapi(joinTokenRoute, async (c) => {
    const { nodeId, role, ttlSeconds } = c.req.valid("json");
    const caller = c.get("caller");
    const settings = readSettings(c.env);
    const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const spiffeId = spiffeIdOf[role](settings.trustDomain, nodeId);
    const now = Date.now();
    const db = openDatabase(c.env.DB);
    await createJoinToken(db, {
      tokenHash: await sha256Hex(token),
      spiffeId,
      createdBy: caller.spiffeId,
      createdAt: now,
      expiresAt: now + ttlSeconds * 1000,
    });
    await audit(db, {
      actor: caller.spiffeId,
      action: "join-token.create",
      subject: spiffeId,
      outcome: "success",
      detail: { ttlSeconds },
    });
    return c.json({ token, spiffeId, expiresAt: new Date(now + ttlSeconds * 1000).toISOString() }, 201);
  })
  .openapi(revokeRoute, async (c) => {
    const { spiffeId, serial, reason } = c.req.valid("json");
    const caller = c.get("caller");
    const now = Date.now();
    const db = openDatabase(c.env.DB);
    await db.batch([
      revocationInsert(db, {
        spiffeId: spiffeId ?? null,
        serial: serial ?? null,
        reason,
        revokedBy: caller.spiffeId,
        revokedAt: now,
      }),
      auditStatement(
        db,
        {
          actor: caller.spiffeId,
          action: "revoke",
          subject: spiffeId ?? serial ?? null,
          outcome: "success",
          detail: { reason, serial },
        },
        now,
      ),
    ]);
    const revoked = {
      ...(spiffeId ? { spiffeId } : {}),
      ...(serial ? { serial } : {}),
      revokedAt: new Date(now).toISOString(),
      reason,
    };
    return c.json({ revoked }, 201);
  })
  .openapi(denyListRoute, async (c) => {
    const { entries, revision } = await denyEntries(openDatabase(c.env.DB));
    return c.json({ v: 1 as const, generatedAt: new Date().toISOString(), revision, entries }, 200);
  });

import { env } from "cloudflare:workers";
import { SignJWT, UnsecuredJWT, base64url as joseB64 } from "jose";
import { beforeAll, describe, expect, it, vi } from "vitest";
import {
  DenyList,
  JwtSvid,
  Problem,
  SpiffeBundle,
  controlPlaneAudience,
  jwtSvidMessage,
  problemTypeUri,
} from "../../protocol/index.js";
import {
  buildAttestRequest,
  createCsr,
  generateSvidKey,
  type KeyPair,
} from "../../node-firmware/identity/attest-request.js";
import { base64url, x509 } from "../../spiffe/index.js";
import { loadAuthority } from "../../workers/identity/authority.js";
import { issueNonce } from "../../workers/identity/nonce.js";
import { get, postJson } from "./client.js";
import { TD, adminToken, attestOk, attestRaw, bearer, generateNodeKey, joinToken, nonce } from "./identity-client.js";

let admin: string;
beforeAll(async () => {
  admin = await adminToken();
});

async function expectProblem(res: Response, status: number, slug: string): Promise<Problem> {
  const body = Problem.parse(await res.json());
  expect({ status: res.status, type: body.type }).toEqual({ status, type: problemTypeUri(slug) });
  return body;
}

const auditRows = async (action: string, outcome: string) =>
  (
    await env.DB.prepare("SELECT subject, detail FROM audit_log WHERE action = ? AND outcome = ? ORDER BY id")
      .bind(action, outcome)
      .all<{ subject: string | null; detail: string }>()
  ).results;

const parseJson = (text: string): unknown => JSON.parse(text);

/** Anonymous refusals: counters per reason, source and window, with the latest detail. */
const refusalRows = async (reason: string) =>
  (
    await env.DB.prepare(
      "SELECT source, count, last_detail AS lastDetail FROM refusals WHERE reason = ? ORDER BY window_start",
    )
      .bind(reason)
      .all<{ source: string; count: number; lastDetail: string | null }>()
  ).results;
const refusalCount = async (reason: string) => (await refusalRows(reason)).reduce((n, r) => n + r.count, 0);

const issuedCount = async () =>
  (await env.DB.prepare("SELECT count(*) AS n FROM issued_svids").first<{ n: number }>())?.n ?? -1;

describe("first attestation with a join token", () => {
  it("issues an X.509-SVID that follows the SPIFFE profile, a JWT-SVID and the bundle", async () => {
    const nodeKey = await generateNodeKey();
    const before = Date.now();
    const res = await attestOk(nodeKey, { joinToken: await joinToken(admin, "node-7") });
    expect(res.spiffeId).toBe(`spiffe://${TD}/node/node-7`);

    const [leafPem, intermediatePem] = res.x509Svid.certificates;
    const leaf = new x509.X509Certificate(leafPem as string);
    const sans = leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
    expect(sans.map((n) => [n.type, n.value])).toEqual([["url", res.spiffeId]]);
    expect(leaf.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    const usage = leaf.getExtension(x509.KeyUsagesExtension);
    expect(usage?.critical).toBe(true);
    expect(usage?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages.sort()).toEqual(
      [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth].sort(),
    );
    const lifetime = leaf.notAfter.getTime() - leaf.notBefore.getTime();
    expect(lifetime).toBeLessThanOrEqual(3600_000);
    expect(leaf.notBefore.getTime()).toBeLessThanOrEqual(before - 9_000);
    const intermediate = new x509.X509Certificate(intermediatePem as string);
    expect(await leaf.verify({ publicKey: intermediate.publicKey, signatureOnly: true })).toBe(true);
    expect(intermediate.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(true);

    expect(res.bundle.spiffe_refresh_hint).toBeGreaterThan(0);
    expect((await auditRows("attest.join-token", "success")).some((r) => r.subject === res.spiffeId)).toBe(true);
  });

  it("refuses a reused, an unknown and an expired token, issuing nothing and auditing each", async () => {
    const token = await joinToken(admin, "node-8");
    await attestOk(await generateNodeKey(), { joinToken: token });
    const issued = await issuedCount();
    const reused = await expectProblem(
      await attestRaw(await generateNodeKey(), { joinToken: token }),
      401,
      "attestation-failed",
    );
    expect(reused.detail).toMatch(/already used/);
    const unknown = await expectProblem(
      await attestRaw(await generateNodeKey(), { joinToken: "bm90LWEtdG9rZW4" }),
      401,
      "attestation-failed",
    );
    expect(unknown.detail).toMatch(/unknown join token/);
    const short = await postJson("/api/v1/identity/join-tokens", { nodeId: "node-9", ttlSeconds: 30 }, bearer(admin));
    const { token: expiring } = await short.json<{ token: string }>();
    await env.DB.prepare("UPDATE join_tokens SET expires_at = 1").run();
    const expired = await expectProblem(
      await attestRaw(await generateNodeKey(), { joinToken: expiring }),
      401,
      "attestation-failed",
    );
    expect(expired.detail).toMatch(/expired/);
    expect(await issuedCount()).toBe(issued);
    // A token that names an identity is audited against it; an unknown one names nobody and is counted.
    const denied = (await auditRows("attest.join-token", "denied")).map(
      (r) => parseJson(r.detail) as { reason: string },
    );
    expect(denied.map((d) => d.reason)).toEqual(
      expect.arrayContaining([expect.stringMatching(/already used/), expect.stringMatching(/expired/)]),
    );
    expect((await refusalRows("attest.join-token")).map((r) => r.lastDetail)).toEqual(
      expect.arrayContaining([expect.stringMatching(/unknown/)]),
    );
  });

  it("refuses a bad signature, a reused nonce and an expired nonce", async () => {
    const nodeKey = await generateNodeKey();
    const other = await generateNodeKey();
    const csr = await createCsr(await generateSvidKey());
    const token = await joinToken(admin, "node-10");
    const signedByOther = await buildAttestRequest(await nonce(), other, csr, { joinToken: token });
    const forged = {
      ...signedByOther,
      nodeKey: (await buildAttestRequest(await nonce(), nodeKey, csr, { joinToken: token })).nodeKey,
    };
    expect(
      (await expectProblem(await postJson("/api/v1/identity/attest", forged), 401, "attestation-failed")).detail,
    ).toMatch(/signature/);

    const good = await buildAttestRequest(await nonce(), nodeKey, csr, { joinToken: token });
    expect((await postJson("/api/v1/identity/attest", good)).status).toBe(200);
    const replay = await buildAttestRequest(good.nonce, nodeKey, csr, { spiffeId: `spiffe://${TD}/node/node-10` });
    expect(
      (await expectProblem(await postJson("/api/v1/identity/attest", replay), 401, "attestation-failed")).detail,
    ).toMatch(/nonce was already used/);
    // 40 bytes leave 4 spare bits in the last character: the same bytes spelt another way are refused.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const respelt = `${good.nonce.slice(0, -1)}${alphabet[alphabet.indexOf(good.nonce.slice(-1)) | 0b1111]}`;
    expect(respelt).not.toBe(good.nonce);
    const replaySpelt = await buildAttestRequest(respelt, nodeKey, csr, { spiffeId: `spiffe://${TD}/node/node-10` });
    expect(
      (await expectProblem(await postJson("/api/v1/identity/attest", replaySpelt), 401, "attestation-failed")).detail,
    ).toMatch(/not base64url/);

    const authority = await loadAuthority(env.X0_CA);
    const stale = await issueNonce(authority.nonceKey, Date.now() - 1);
    const late = await buildAttestRequest(stale, nodeKey, csr, { spiffeId: `spiffe://${TD}/node/node-10` });
    expect(
      (await expectProblem(await postJson("/api/v1/identity/attest", late), 401, "attestation-failed")).detail,
    ).toMatch(/expired/);
    const tampered = await buildAttestRequest(`${(await nonce()).slice(0, -2)}AA`, nodeKey, csr, {
      spiffeId: `spiffe://${TD}/node/node-10`,
    });
    expect(
      (await expectProblem(await postJson("/api/v1/identity/attest", tampered), 401, "attestation-failed")).detail,
    ).toMatch(/not issued/);
  });
});

describe("CSR rules", () => {
  const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

  async function attestWithCsr(csr: x509.Pkcs10CertificateRequest, nodeId: string) {
    const token = await joinToken(admin, nodeId);
    return postJson(
      "/api/v1/identity/attest",
      await buildAttestRequest(await nonce(), await generateNodeKey(), csr, { joinToken: token }),
    );
  }

  it("refuses extra SANs, a CA request, a key that does not match the signature, and a non-P-256 key", async () => {
    const keys = (await crypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
    const extraSan = await x509.Pkcs10CertificateRequestGenerator.create({
      keys,
      signingAlgorithm: EC,
      extensions: [
        new x509.SubjectAlternativeNameExtension([
          { type: "url", value: `spiffe://${TD}/node/csr-1` },
          { type: "dns", value: "evil.example" },
        ]),
      ],
    });
    expect((await expectProblem(await attestWithCsr(extraSan, "csr-1"), 400, "invalid-csr")).detail).toMatch(
      /no SAN other than/,
    );

    const otherId = await x509.Pkcs10CertificateRequestGenerator.create({
      keys,
      signingAlgorithm: EC,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: `spiffe://${TD}/admin/root` }])],
    });
    await expectProblem(await attestWithCsr(otherId, "csr-2"), 400, "invalid-csr");

    const caRequest = await x509.Pkcs10CertificateRequestGenerator.create({
      keys,
      signingAlgorithm: EC,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
    });
    expect((await expectProblem(await attestWithCsr(caRequest, "csr-3"), 400, "invalid-csr")).detail).toMatch(/CA/);

    const signed = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: EC });
    const bytes = new Uint8Array(signed.rawData);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff;
    const mismatched = new x509.Pkcs10CertificateRequest(bytes);
    expect((await expectProblem(await attestWithCsr(mismatched, "csr-4"), 400, "invalid-csr")).detail).toMatch(
      /signature does not match|parsable/,
    );

    const p384 = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const wrongCurve = await x509.Pkcs10CertificateRequestGenerator.create({
      keys: p384,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-384" },
    });
    expect((await expectProblem(await attestWithCsr(wrongCurve, "csr-5"), 400, "invalid-csr")).detail).toMatch(/P-256/);
    expect((await auditRows("attest.join-token", "denied")).length).toBeGreaterThanOrEqual(5);
  });
});

describe("re-attestation by proof of possession", () => {
  it("lets a registered node come back without a token, and nobody else", async () => {
    const nodeKey = await generateNodeKey();
    const first = await attestOk(nodeKey, { joinToken: await joinToken(admin, "node-20") });
    const again = await attestOk(nodeKey, { spiffeId: first.spiffeId });
    expect(again.x509Svid.serial).not.toBe(first.x509Svid.serial);
    const impostor = await expectProblem(
      await attestRaw(await generateNodeKey(), { spiffeId: first.spiffeId }),
      401,
      "attestation-failed",
    );
    expect(impostor.detail).toMatch(/does not match the registered key/);
    await expectProblem(
      await attestRaw(nodeKey, { spiffeId: `spiffe://${TD}/node/never-joined` }),
      401,
      "attestation-failed",
    );
  });

  it.each([
    ["spiffe://X0TTA6BL4.mesh/node/a", /trust domain/],
    ["spiffe://x0tta6bl4.mesh/node/../admin", /'\.' and '\.\.'/],
    ["spiffe://x0tta6bl4.mesh/node//a", /empty/],
    ["spiffe://x0tta6bl4.mesh/node/a%2F", /percent/],
    ["spiffe://x0tta6bl4.mesh:8443/node/a", /port/],
    ["spiffe://user@x0tta6bl4.mesh/node/a", /userinfo/],
    ["spiffe://x0tta6bl4.mesh/node/a?x=1", /query/],
    ["https://x0tta6bl4.mesh/node/a", /scheme/],
  ])("rejects the SPIFFE ID %s", async (spiffeId, reason) => {
    const res = await attestRaw(await generateNodeKey(), { spiffeId });
    const body = await expectProblem(res, 400, "validation");
    expect(body.issues?.[0]?.message).toMatch(reason);
    await vi.waitFor(async () => {
      expect((await refusalRows("attest.invalid")).at(-1)?.lastDetail).toContain("invalid SPIFFE ID");
    });
  });
});

describe("JWT-SVIDs and API authentication", () => {
  const jwtRequest = async (key: KeyPair, spiffeId: string, audience: string[], fresh?: string) => {
    const n = fresh ?? (await nonce());
    const signature = await crypto.subtle.sign(
      { name: "Ed25519" },
      key.privateKey,
      new TextEncoder().encode(jwtSvidMessage(n, spiffeId, audience)),
    );
    return { spiffeId, audience, nonce: n, signature: base64url(signature) };
  };

  it("mints for proof of possession of the registered key, with the requested audience", async () => {
    const nodeKey = await generateNodeKey();
    const node = await attestOk(nodeKey, { joinToken: await joinToken(admin, "node-30") });
    const audience = ["spiffe://x0tta6bl4.mesh/node/node-31"];
    const res = await postJson("/api/v1/identity/jwt-svid", await jwtRequest(nodeKey, node.spiffeId, audience));
    expect(res.status).toBe(200);
    const { token } = JwtSvid.parse(await res.json());
    const [header, payload] = token
      .split(".")
      .slice(0, 2)
      .map((part) => parseJson(new TextDecoder().decode(joseB64.decode(part))) as Record<string, unknown>);
    expect(header).toMatchObject({ alg: "ES256", typ: "JWT" });
    expect(typeof header?.kid).toBe("string");
    expect(payload).toMatchObject({ sub: node.spiffeId, aud: audience });
    expect((payload?.exp as number) - (payload?.iat as number)).toBeLessThanOrEqual(300);
  });

  it("never mints for a bearer token alone, another key, a spent nonce or a revoked identity", async () => {
    const nodeKey = await generateNodeKey();
    const node = await attestOk(nodeKey, { joinToken: await joinToken(admin, "node-32") });
    const audience = [controlPlaneAudience(TD)];
    // The old way: the token that the dashboard URL carried renewed itself forever.
    await expectProblem(
      await postJson("/api/v1/identity/jwt-svid", { audience }, bearer(node.jwtSvid.token)),
      400,
      "validation",
    );
    await expectProblem(
      await postJson("/api/v1/identity/jwt-svid", await jwtRequest(await generateNodeKey(), node.spiffeId, audience)),
      401,
      "unauthorized",
    );
    const once = await jwtRequest(nodeKey, node.spiffeId, audience);
    expect((await postJson("/api/v1/identity/jwt-svid", once)).status).toBe(200);
    const spent = await expectProblem(await postJson("/api/v1/identity/jwt-svid", once), 401, "unauthorized");
    expect(spent.detail).toMatch(/already used/);
    const unknown = await expectProblem(
      await postJson("/api/v1/identity/jwt-svid", await jwtRequest(nodeKey, `spiffe://${TD}/node/nobody`, audience)),
      401,
      "unauthorized",
    );
    expect(unknown.detail).toMatch(/no node key is registered/);
    await postJson("/api/v1/identity/revoke", { spiffeId: node.spiffeId, reason: "test" }, bearer(admin));
    await expectProblem(
      await postJson("/api/v1/identity/jwt-svid", await jwtRequest(nodeKey, node.spiffeId, audience)),
      403,
      "revoked",
    );
  });

  it("refuses alg none, HS256, EdDSA, a missing aud, a foreign aud, and an expired token", async () => {
    const sub = `spiffe://${TD}/admin/ops`;
    const aud = controlPlaneAudience(TD);
    const now = Math.floor(Date.now() / 1000);
    const ed = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    const authority = await loadAuthority(env.X0_CA);
    const es256 = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", kid: authority.jwtSigner.kid })
        .setSubject(sub)
        .sign(authority.jwtSigner.privateKey);
    const tokens: [string, string][] = [
      [
        "alg none",
        new UnsecuredJWT({ aud })
          .setSubject(sub)
          .setExpirationTime(now + 60)
          .encode(),
      ],
      [
        "HS256",
        await new SignJWT({ aud })
          .setProtectedHeader({ alg: "HS256" })
          .setSubject(sub)
          .setExpirationTime(now + 60)
          .sign(new TextEncoder().encode("a-shared-secret-of-32-bytes-long!")),
      ],
      [
        "EdDSA",
        await new SignJWT({ aud })
          .setProtectedHeader({ alg: "EdDSA", kid: authority.jwtSigner.kid })
          .setSubject(sub)
          .setExpirationTime(now + 60)
          .sign((ed as CryptoKeyPair).privateKey),
      ],
      ["missing aud", await es256({ exp: now + 60 })],
      ["foreign aud", await es256({ aud: "someone-else", exp: now + 60 })],
      ["expired", await es256({ aud, exp: now - 60, iat: now - 400 })],
    ];
    for (const [what, token] of tokens) {
      const res = await get("/api/v1/mesh/nodes", bearer(token));
      const body = await expectProblem(res, 401, "unauthorized");
      expect(res.headers.get("www-authenticate"), what).toMatch(/^Bearer/);
      expect(body.detail, what).toMatch(/JWT-SVID refused/);
    }
    expect(await refusalCount("auth.jwt-svid")).toBeGreaterThanOrEqual(tokens.length);
    await expectProblem(await get("/api/v1/mesh/nodes"), 401, "unauthorized");
  });

  it("keeps admin routes for admins and telemetry for gateways", async () => {
    const node = await attestOk(await generateNodeKey(), { joinToken: await joinToken(admin, "node-40") });
    await expectProblem(
      await postJson("/api/v1/identity/join-tokens", { nodeId: "x" }, bearer(node.jwtSvid.token)),
      403,
      "forbidden",
    );
    await expectProblem(
      await postJson("/api/v1/telemetry", { gatewayId: "g", sentAt: 0, items: [] }, bearer(node.jwtSvid.token)),
      403,
      "forbidden",
    );
    expect((await get("/api/v1/mesh/nodes", bearer(node.jwtSvid.token))).status).toBe(200);
  });
});

describe("trust bundle", () => {
  it("is a SPIFFE bundle: x509-svid keys carry one CA cert and no kid, jwt-svid keys carry kid", async () => {
    const first = SpiffeBundle.parse(await (await get("/api/v1/identity/bundle")).json());
    const x509Keys = first.keys.filter((k) => k.use === "x509-svid");
    const jwtKeys = first.keys.filter((k) => k.use === "jwt-svid");
    expect(x509Keys.length).toBeGreaterThan(0);
    for (const key of x509Keys) {
      expect(key.x5c).toHaveLength(1);
      expect(key.kid).toBeUndefined();
      const root = new x509.X509Certificate(Uint8Array.from(atob(key.x5c?.[0] ?? ""), (c) => c.charCodeAt(0)));
      expect(root.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(true);
    }
    expect(jwtKeys.every((k) => typeof k.kid === "string" && k.x5c === undefined)).toBe(true);
    const second = SpiffeBundle.parse(await (await get("/api/v1/identity/bundle")).json());
    expect(second.spiffe_sequence).toBe(first.spiffe_sequence);
    await env.DB.prepare("UPDATE bundle_state SET fingerprint = 'an older key set'").run();
    const changed = SpiffeBundle.parse(await (await get("/api/v1/identity/bundle")).json());
    expect(changed.spiffe_sequence).toBe(first.spiffe_sequence! + 1);
  });
});

describe("revocation", () => {
  it("stops a revoked node from re-attesting and from using the API, and lists it", async () => {
    const nodeKey = await generateNodeKey();
    const node = await attestOk(nodeKey, { joinToken: await joinToken(admin, "node-50") });
    const res = await postJson("/api/v1/identity/revoke", { spiffeId: node.spiffeId, reason: "stolen" }, bearer(admin));
    expect(res.status).toBe(201);
    await expectProblem(await attestRaw(nodeKey, { spiffeId: node.spiffeId }), 403, "revoked");
    await expectProblem(await get("/api/v1/mesh/nodes", bearer(node.jwtSvid.token)), 403, "revoked");
    const list = DenyList.parse(await (await get("/api/v1/identity/denylist", bearer(admin))).json());
    expect(list.entries.map((e) => e.spiffeId)).toContain(node.spiffeId);
    expect((await auditRows("revoke", "success")).map((r) => r.subject)).toContain(node.spiffeId);
    const bySerial = await postJson(
      "/api/v1/identity/revoke",
      { serial: node.x509Svid.serial, reason: "rotated out" },
      bearer(admin),
    );
    expect(bySerial.status).toBe(201);
  });
});

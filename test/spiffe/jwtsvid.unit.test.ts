import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { SignJWT, UnsecuredJWT, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  JwtSvidError,
  mintJwtSvid,
  parseBundle,
  validateJwtSvid,
  type Bundle,
  type JwtSvidAlgorithm,
} from "../../spiffe/index.js";
import { TD } from "./testdata.js";

const AUD = `spiffe://${TD}/control-plane`;
const SUB = `spiffe://${TD}/node/n1`;

/** Keys made by Node's crypto; tokens signed by jose: a second JOSE implementation on both sides. */
const SIGNERS = {
  ES256: () => generateKeyPairSync("ec", { namedCurve: "P-256" }),
  ES384: () => generateKeyPairSync("ec", { namedCurve: "P-384" }),
  ES512: () => generateKeyPairSync("ec", { namedCurve: "P-521" }),
  RS256: () => generateKeyPairSync("rsa", { modulusLength: 2048 }),
  PS384: () => generateKeyPairSync("rsa", { modulusLength: 2048 }),
} satisfies Partial<Record<JwtSvidAlgorithm, () => unknown>>;
type Alg = keyof typeof SIGNERS;

const pairs = {} as Record<Alg, ReturnType<(typeof SIGNERS)[Alg]>>;
let bundle: Bundle;

beforeAll(async () => {
  const keys = [];
  for (const alg of Object.keys(SIGNERS) as Alg[]) {
    pairs[alg] = SIGNERS[alg]();
    keys.push({
      ...(pairs[alg].publicKey.export({ format: "jwk" }) as Record<string, string>),
      use: "jwt-svid",
      kid: alg,
    });
  }
  bundle = (await parseBundle(TD, { keys })).bundle;
});

const now = () => Math.floor(Date.now() / 1000);
const sign = (alg: Alg, claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  new SignJWT(claims).setProtectedHeader({ alg, kid: alg, ...header }).sign(pairs[alg].privateKey);

const refusal = (token: string, audience = AUD) =>
  validateJwtSvid(token, bundle, audience, Date.now()).then(
    () => "accepted",
    (error: unknown) => (error instanceof JwtSvidError ? error.message : `threw ${String(error)}`),
  );

describe("JWT-SVID validation (JWT-SVID.md §3, §4)", () => {
  it.each(Object.keys(SIGNERS) as Alg[])("validates a token that jose signed with %s", async (alg) => {
    const token = await sign(alg, { sub: SUB, aud: [AUD, "spiffe://example.org/other"], exp: now() + 60 });
    const validated = await validateJwtSvid(token, bundle, AUD, Date.now());
    expect(validated.id.uri).toBe(SUB);
    expect(validated.expiresAt).toBe((now() + 60) * 1000);
  });

  it("mints tokens that jose verifies with Node's copy of the key", async () => {
    const { privateKey, publicKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
      "sign",
      "verify",
    ]);
    const minted = await mintJwtSvid({ kid: "k", alg: "ES384", privateKey }, SUB, [AUD], 120, Date.now());
    const nodeKey = createPublicKey({ key: (await crypto.subtle.exportKey("jwk", publicKey)) as never, format: "jwk" });
    const { payload, protectedHeader } = await jwtVerify(minted.token, nodeKey, { audience: AUD });
    expect(protectedHeader).toMatchObject({ alg: "ES384", kid: "k", typ: "JWT" });
    expect(payload).toMatchObject({ sub: SUB, aud: [AUD] });
    expect(minted.expiresAt).toBe((payload.exp as number) * 1000);
  });

  it.each([
    [
      "alg none",
      () => Promise.resolve(new UnsecuredJWT({ sub: SUB, aud: AUD }).setExpirationTime(now() + 60).encode()),
      /alg|JWS|Unsecured/i,
    ],
    [
      "HS256",
      () =>
        new SignJWT({ sub: SUB, aud: AUD, exp: now() + 60 })
          .setProtectedHeader({ alg: "HS256", kid: "ES256" })
          .sign(new TextEncoder().encode("a-shared-secret-of-32-bytes-long!")),
      /alg/,
    ],
    [
      "EdDSA",
      async () =>
        new SignJWT({ sub: SUB, aud: AUD, exp: now() + 60 })
          .setProtectedHeader({ alg: "EdDSA", kid: "ES256" })
          .sign(generateKeyPairSync("ed25519").privateKey),
      /alg/,
    ],
    ["no kid", () => sign("ES256", { sub: SUB, aud: AUD, exp: now() + 60 }, { kid: undefined }), /no kid/],
    [
      "unknown kid",
      () => sign("ES256", { sub: SUB, aud: AUD, exp: now() + 60 }, { kid: "nobody" }),
      /unknown signing key/,
    ],
    [
      "kid of a key of another algorithm",
      () => sign("ES256", { sub: SUB, aud: AUD, exp: now() + 60 }, { kid: "ES384" }),
      /cannot verify ES256/,
    ],
    [
      "kid of another key of the algorithm",
      () => sign("PS384", { sub: SUB, aud: AUD, exp: now() + 60 }, { kid: "RS256", alg: "PS384" }),
      /signature verification failed/,
    ],
    ["foreign audience", () => sign("ES256", { sub: SUB, aud: "spiffe://example.org/else", exp: now() + 60 }), /aud/],
    ["no audience", () => sign("ES256", { sub: SUB, exp: now() + 60 }), /aud/],
    ["no expiry", () => sign("ES256", { sub: SUB, aud: AUD }), /exp/],
    ["expired", () => sign("ES256", { sub: SUB, aud: AUD, exp: now() - 60 }), /exp/],
    [
      "subject not a SPIFFE ID",
      () => sign("ES256", { sub: "node-1", aud: AUD, exp: now() + 60 }),
      /sub is not a SPIFFE ID/,
    ],
    [
      "subject of another trust domain",
      () => sign("ES256", { sub: "spiffe://elsewhere.test/n1", aud: AUD, exp: now() + 60 }),
      /not in trust domain/,
    ],
    ["not a JWS", () => Promise.resolve("a.b.c"), /JWS|Invalid|token/i],
  ] as const)("refuses %s", async (_what, make, message) => {
    expect(await refusal(await make())).toMatch(message);
  });
});

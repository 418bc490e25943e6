import { calculateJwkThumbprint, type JWK } from "jose";
import { CaSecret, pemToDer, type ActionKey, type ActionSigningKey, type SpiffeBundle } from "../../protocol/index.js";
import { x509 } from "../../protocol/x509.js";
import { ProblemError } from "../http/problem.js";

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;

export interface JwtKey {
  kid: string;
  publicKey: CryptoKey;
  jwk: JWK;
}

/** The control plane's signing material, parsed once per isolate from the `X0_CA` secret. */
export interface Authority {
  trustDomain: string;
  /** The CA that signs now: X.509-SVIDs and JWT-SVIDs alike. */
  signer: { chain: x509.X509Certificate[]; chainPem: string[]; privateKey: CryptoKey; kid: string };
  /** Keys a JWT-SVID may verify against: active, the prepared next one, and the previous until it retires. */
  jwtKeys: Map<string, JwtKey>;
  bundleKeys: SpiffeBundle["keys"];
  /** HMAC key for stateless attestation nonces, derived from the signing key. */
  nonceKey: CryptoKey;
  /** When the published key set changes by itself (the previous CA retiring): parse again then. */
  validUntil: number;
  /** Ed25519 key for MAPE-K actions, when the CA secret carries one. */
  actionSigner?: { kid: string; privateKey: CryptoKey };
  actionKeys: ActionKey[];
}


async function jwtKeyOf(cert: x509.X509Certificate): Promise<JwtKey> {
  const publicKey = await cert.publicKey.export(EC, ["verify"]);
  const { kty, crv, x, y } = (await crypto.subtle.exportKey("jwk", publicKey)) as JWK;
  const jwk: JWK = { kty, crv, x, y };
  return { kid: await calculateJwkThumbprint(jwk, "sha256"), publicKey, jwk };
}

async function deriveNonceKey(pkcs8: Uint8Array): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", pkcs8, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode("x0tta6bl4 attestation nonce v1") },
    material,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
}

async function importActionKey(key: ActionSigningKey): Promise<{ kid: string; privateKey: CryptoKey }> {
  const der = Uint8Array.from(atob(key.privateKeyPkcs8), (c) => c.charCodeAt(0));
  return { kid: key.kid, privateKey: await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]) };
}

async function parseAuthority(secretText: string, now: number): Promise<Authority> {
  const parsed = CaSecret.safeParse(JSON.parse(secretText));
  if (!parsed.success) throw new Error("X0_CA is not a valid CA secret");
  const secret = parsed.data;
  const chain = secret.active.chain.map((pem) => new x509.X509Certificate(pem));
  const keyDer = pemToDer(secret.active.key);
  const privateKey = await crypto.subtle.importKey("pkcs8", keyDer, EC, false, ["sign"]);
  const active = await jwtKeyOf(chain[0] as x509.X509Certificate);

  const published = [active];
  if (secret.next) published.push(await jwtKeyOf(new x509.X509Certificate(secret.next.chain[0] as string)));
  const retireAt = secret.previous ? Date.parse(secret.previous.retireAt) : Infinity;
  if (secret.previous && retireAt > now) {
    published.push(await jwtKeyOf(new x509.X509Certificate(secret.previous.chain[0] as string)));
  }
  const roots = secret.roots.map((pem) => new x509.X509Certificate(pem));
  const rootKeys = await Promise.all(
    roots.map(async (root) => {
      const { kty, crv, x, y } = (await crypto.subtle.exportKey("jwk", await root.publicKey.export(EC, ["verify"]))) as JWK;
      return { kty: kty as "EC", crv: crv as "P-256", x: x as string, y: y as string, use: "x509-svid" as const, x5c: [btoa(String.fromCharCode(...new Uint8Array(root.rawData)))] };
    }),
  );
  const jwtBundleKeys = published.map((k) => ({ ...(k.jwk as { kty: "EC"; crv: "P-256"; x: string; y: string }), use: "jwt-svid" as const, kid: k.kid }));
  return {
    trustDomain: secret.trustDomain,
    signer: { chain, chainPem: secret.active.chain, privateKey, kid: active.kid },
    jwtKeys: new Map(published.map((k) => [k.kid, k])),
    bundleKeys: [...rootKeys, ...jwtBundleKeys],
    nonceKey: await deriveNonceKey(keyDer),
    validUntil: retireAt > now ? retireAt : Infinity,
    ...(secret.actionKey ? { actionSigner: await importActionKey(secret.actionKey) } : {}),
    actionKeys: secret.actionKey ? [{ kid: secret.actionKey.kid, publicKey: secret.actionKey.publicKey }] : [],
  };
}

let cached: { secretText: string; authority: Promise<Authority> } | undefined;

/** Parsed and imported keys are kept for the isolate's life: verification must not re-import per request. */
export async function loadAuthority(secretText: string | undefined, now = Date.now()): Promise<Authority> {
  if (!secretText) throw new ProblemError("internal", "The control plane has no CA configured (X0_CA).");
  if (cached?.secretText === secretText) {
    const authority = await cached.authority;
    if (now < authority.validUntil) return authority;
  }
  const authority = parseAuthority(secretText, now);
  cached = { secretText, authority };
  authority.catch(() => {
    cached = undefined;
  });
  return authority;
}

import { calculateJwkThumbprint } from "jose";
import { CaSecret, type ActionKey, type ActionSigningKey } from "../../protocol/index.js";
import {
  exportJwk,
  marshalBundle,
  pemToDer,
  x509,
  type Bundle,
  type BundleJwk,
  type JwtAuthority,
  type JwtSigner,
} from "../../spiffe/index.js";
import { ProblemError } from "../http/problem.js";

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;

/** The control plane's signing material, parsed once per isolate from the `X0_CA` secret. */
export interface Authority {
  trustDomain: string;
  /** The CA that signs X.509-SVIDs now. */
  signer: { chain: x509.X509Certificate[]; chainPem: string[]; privateKey: CryptoKey };
  /**
   * JWT-SVIDs are signed with the same key, published as a JWT authority. A key of its own (as
   * SPIRE has) buys nothing while both live in the one Worker secret; it will with the CA key in
   * an HSM (issue: roots of trust).
   */
  jwtSigner: JwtSigner;
  /**
   * The trust domain's bundle: the roots, and the JWT keys (active, the prepared next one, the
   * previous until it retires).
   */
  bundle: Bundle;
  /** The bundle's keys as published (a JWK Set's `keys`), written once per isolate. */
  bundleKeys: BundleJwk[];
  /** HMAC key for stateless attestation nonces, derived from the signing key. */
  nonceKey: CryptoKey;
  /** When the published key set changes by itself (the previous CA retiring): parse again then. */
  validUntil: number;
  /** Ed25519 key for MAPE-K actions, when the CA secret carries one. */
  actionSigner?: { kid: string; privateKey: CryptoKey };
  actionKeys: ActionKey[];
}

/** A CA certificate's key as a JWT authority, its `kid` the key's JWK thumbprint. */
async function jwtAuthorityOf(cert: x509.X509Certificate): Promise<JwtAuthority> {
  const { kty = "EC", crv, x, y } = await exportJwk(await cert.publicKey.export(EC, ["verify"]));
  const jwk: BundleJwk = { kty, crv, x, y };
  return { kid: await calculateJwkThumbprint({ kty, crv, x, y }, "sha256"), jwk };
}

async function deriveNonceKey(pkcs8: Uint8Array): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", pkcs8, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new Uint8Array(0),
      info: new TextEncoder().encode("x0tta6bl4 attestation nonce v1"),
    },
    material,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
}

async function importActionKey(key: ActionSigningKey): Promise<{ kid: string; privateKey: CryptoKey }> {
  const der = Uint8Array.from(atob(key.privateKeyPkcs8), (c) => c.charCodeAt(0));
  return {
    kid: key.kid,
    privateKey: await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]),
  };
}

async function parseAuthority(secretText: string, now: number): Promise<Authority> {
  const parsed = CaSecret.safeParse(JSON.parse(secretText));
  if (!parsed.success) throw new Error("X0_CA is not a valid CA secret");
  const secret = parsed.data;
  const chain = secret.active.chain.map((pem) => new x509.X509Certificate(pem));
  const keyDer = pemToDer(secret.active.key);
  const privateKey = await crypto.subtle.importKey("pkcs8", keyDer, EC, false, ["sign"]);
  const active = await jwtAuthorityOf(chain[0] as x509.X509Certificate);

  const published = [active];
  if (secret.next) published.push(await jwtAuthorityOf(new x509.X509Certificate(secret.next.chain[0] as string)));
  const retireAt = secret.previous ? Date.parse(secret.previous.retireAt) : Infinity;
  if (secret.previous && retireAt > now) {
    published.push(await jwtAuthorityOf(new x509.X509Certificate(secret.previous.chain[0] as string)));
  }
  const bundle: Bundle = {
    trustDomain: secret.trustDomain,
    x509Authorities: secret.roots.map((pem) => new x509.X509Certificate(pem)),
    jwtAuthorities: new Map(published.map((k) => [k.kid, k])),
  };
  return {
    trustDomain: secret.trustDomain,
    signer: { chain, chainPem: secret.active.chain, privateKey },
    jwtSigner: { kid: active.kid, alg: "ES256", privateKey },
    bundle,
    bundleKeys: (await marshalBundle(bundle)).keys,
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

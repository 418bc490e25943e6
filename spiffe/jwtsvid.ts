import { SignJWT, errors, importJWK, jwtVerify, type CryptoKey as JoseKey, type JWTPayload } from "jose";
import type { Bundle, JwtAuthority } from "./bundle.js";
import { parseSpiffeId, type SpiffeId } from "./id.js";

/** The algorithms a JWT-SVID may be signed with (JWT-SVID.md §3): the RS, ES and PS families. */
export const JWT_SVID_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "ES256",
  "ES384",
  "ES512",
  "PS256",
  "PS384",
  "PS512",
] as const;
export type JwtSvidAlgorithm = (typeof JWT_SVID_ALGORITHMS)[number];

export interface JwtSigner {
  kid: string;
  alg: JwtSvidAlgorithm;
  privateKey: CryptoKey;
}

export interface MintedJwtSvid {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** A JWT-SVID: compact JWS with `kid`, `sub` the SPIFFE ID, `aud`, `exp` and `iat`. */
export async function mintJwtSvid(
  signer: JwtSigner,
  spiffeId: string,
  audience: readonly string[],
  ttlSeconds: number,
  now: number,
): Promise<MintedJwtSvid> {
  const iat = Math.floor(now / 1000);
  const exp = iat + ttlSeconds;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: "JWT" })
    .setSubject(spiffeId)
    .setAudience([...audience])
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(signer.privateKey);
  return { token, expiresAt: exp * 1000 };
}

export class JwtSvidError extends Error {}

export interface ValidatedJwtSvid {
  id: SpiffeId;
  claims: JWTPayload;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** Imported verification keys, by authority and algorithm: validation must not re-import per token. */
const importedKeys = new WeakMap<JwtAuthority, Map<string, Promise<JoseKey | Uint8Array>>>();

function verificationKey(authority: JwtAuthority, alg: string): Promise<JoseKey | Uint8Array> {
  let byAlg = importedKeys.get(authority);
  if (!byAlg) {
    byAlg = new Map<string, Promise<JoseKey | Uint8Array>>();
    importedKeys.set(authority, byAlg);
  }
  let key = byAlg.get(alg);
  if (!key) {
    const { kty, crv, x, y, n, e } = authority.jwk;
    key = importJWK({ kty, crv, x, y, n, e }, alg).catch(() => {
      throw new JwtSvidError(`key ${authority.kid.slice(0, 64)} cannot verify ${alg} signatures`);
    });
    byAlg.set(alg, key);
  }
  return key;
}

const CLOCK_TOLERANCE_S = 5;

/**
 * Validates a JWT-SVID as JWT-SVID.md §4 has it, against the bundle of the trust domain its
 * subject names: `alg` of the RS, ES or PS families, a `kid` found among the bundle's JWT
 * authorities, the signature, `aud` containing `audience`, `exp` in the future, and `sub` a
 * SPIFFE ID of that trust domain. Anything that receives JWT-SVIDs can use it with a bundle.
 */
export async function validateJwtSvid(
  token: string,
  bundle: Bundle,
  audience: string,
  now: number,
): Promise<ValidatedJwtSvid> {
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const authority = header.kid ? bundle.jwtAuthorities.get(header.kid) : undefined;
        if (!authority) throw new JwtSvidError(header.kid ? "unknown signing key (kid)" : "header has no kid");
        return verificationKey(authority, header.alg);
      },
      {
        algorithms: [...JWT_SVID_ALGORITHMS],
        audience,
        requiredClaims: ["sub", "aud", "exp"],
        currentDate: new Date(now),
        clockTolerance: CLOCK_TOLERANCE_S,
      },
    );
    const parsed = parseSpiffeId(payload.sub ?? "");
    if (!parsed.ok) throw new JwtSvidError(`sub is not a SPIFFE ID: ${parsed.reason}`);
    if (parsed.id.trustDomain !== bundle.trustDomain)
      throw new JwtSvidError(`sub is not in trust domain ${bundle.trustDomain}`);
    return { id: parsed.id, claims: payload, expiresAt: (payload.exp ?? 0) * 1000 };
  } catch (error) {
    if (error instanceof JwtSvidError) throw error;
    if (error instanceof errors.JOSEError) throw new JwtSvidError(`${error.code}: ${error.message}`);
    throw new JwtSvidError("token is not a valid JWS");
  }
}

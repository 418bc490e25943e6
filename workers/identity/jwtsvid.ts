import { SignJWT, errors, jwtVerify, type JWTPayload } from "jose";
import { parseSpiffeId } from "../../protocol/index.js";
import type { Authority } from "./authority.js";

export const MAX_JWT_TTL_S = 300;

/** JWT-SVID (SPIFFE JWT-SVID): compact JWS, ES256, `kid`, `sub` = SPIFFE ID, `aud`, `exp`, `iat`. */
export async function mintJwtSvid(authority: Authority, spiffeId: string, audience: string[], ttlSeconds: number, now: number) {
  const iat = Math.floor(now / 1000);
  const exp = iat + Math.min(ttlSeconds, MAX_JWT_TTL_S);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: authority.signer.kid, typ: "JWT" })
    .setSubject(spiffeId)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(authority.signer.privateKey);
  return { token, expiresAt: exp * 1000 };
}

export class JwtSvidError extends Error {}

/** Verifies against the bundle's JWT keys by `kid`; only ES256, and `aud`, `exp`, `sub` are required. */
export async function verifyJwtSvid(authority: Authority, token: string, audience: string, now: number): Promise<{ spiffeId: string; payload: JWTPayload }> {
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid ? authority.jwtKeys.get(header.kid) : undefined;
        if (!key) throw new JwtSvidError("unknown signing key (kid)");
        return key.publicKey;
      },
      { algorithms: ["ES256"], audience, requiredClaims: ["sub", "aud", "exp"], currentDate: new Date(now), clockTolerance: 5 },
    );
    const sub = payload.sub ?? "";
    const parsed = parseSpiffeId(sub);
    if (!parsed.ok) throw new JwtSvidError(`sub is not a SPIFFE ID: ${parsed.reason}`);
    if (parsed.id.trustDomain !== authority.trustDomain) throw new JwtSvidError("sub is from another trust domain");
    return { spiffeId: sub, payload };
  } catch (error) {
    if (error instanceof JwtSvidError) throw error;
    if (error instanceof errors.JOSEError) throw new JwtSvidError(`${error.code}: ${error.message}`);
    throw new JwtSvidError("token is not a valid JWS");
  }
}

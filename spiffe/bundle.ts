import { isValidTrustDomain } from "./id.js";
import { exportJwk, exportSpki, sameBytes, withHash, type KeyAlgorithm } from "./webcrypto.js";
import { x509 } from "./x509.js";

/** A JWK as bundles carry it: the public parameters of EC and RSA keys, and the SPIFFE ones. */
export interface BundleJwk {
  kty: string;
  use?: string;
  kid?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  x5c?: string[];
  [parameter: string]: unknown;
}

/** A SPIFFE bundle in its JWK Set form (SPIFFE Trust Domain and Bundle, §4). */
export interface BundleDocument {
  keys: BundleJwk[];
  spiffe_sequence?: number;
  spiffe_refresh_hint?: number;
  [parameter: string]: unknown;
}

export interface JwtAuthority {
  kid: string;
  jwk: BundleJwk;
}

/** What a trust domain's bundle says, read by the spec's rules. */
export interface Bundle {
  trustDomain: string;
  /** Roots X.509-SVIDs chain to. */
  x509Authorities: x509.X509Certificate[];
  /** Keys JWT-SVIDs are signed with, by `kid`. */
  jwtAuthorities: Map<string, JwtAuthority>;
  sequence?: number;
  refreshHintS?: number;
}

/** A key the reader passed over, as the spec says it should (unknown `use`, unsupported `kty`). */
export interface IgnoredKey {
  index: number;
  reason: string;
}

export class BundleError extends Error {}

const CURVES: ReadonlySet<string> = new Set(["P-256", "P-384", "P-521"]);
const SUPPORTED_KTY = new Set(["EC", "RSA"]);
const KNOWN_USE = new Set(["x509-svid", "jwt-svid"]);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function optionalCount(document: Record<string, unknown>, name: string, minimum: number): number | undefined {
  const value = document[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < minimum) {
    throw new BundleError(`${name} must be an integer of at least ${minimum}`);
  }
  return value;
}

/**
 * Reads a bundle by the spec: `keys` is required; `spiffe_sequence` and `spiffe_refresh_hint`
 * are optional; a key whose `use` is unknown, whose `kty` is not EC or RSA, or whose curve is
 * not P-256, P-384 or P-521 is ignored (and reported), not a reason to refuse the bundle; an `x509-svid` key carries
 * exactly one `x5c`
 * certificate whose public key is the JWK's own; a `jwt-svid` key has a unique `kid`. EC keys
 * on P-256, P-384 and P-521 and RSA keys are read; their parameters must import as a key.
 */
export async function parseBundle(
  trustDomain: string,
  json: unknown,
): Promise<{ bundle: Bundle; ignored: IgnoredKey[] }> {
  if (!isValidTrustDomain(trustDomain))
    throw new BundleError(`"${trustDomain.slice(0, 64)}" is not a trust domain name`);
  if (!isRecord(json)) throw new BundleError("bundle must be a JSON object (a JWK Set)");
  if (!Array.isArray(json.keys)) throw new BundleError('bundle must have a "keys" array');
  const sequence = optionalCount(json, "spiffe_sequence", 0);
  const refreshHintS = optionalCount(json, "spiffe_refresh_hint", 1);
  const bundle: Bundle = {
    trustDomain,
    x509Authorities: [],
    jwtAuthorities: new Map(),
    ...(sequence === undefined ? {} : { sequence }),
    ...(refreshHintS === undefined ? {} : { refreshHintS }),
  };
  const ignored: IgnoredKey[] = [];
  for (const [index, key] of (json.keys as unknown[]).entries()) {
    const skip = await readKey(bundle, key, index);
    if (skip) ignored.push({ index, reason: skip });
  }
  return { bundle, ignored };
}

/** Adds one key to the bundle; returns why it was ignored, or throws for a malformed key. */
async function readKey(bundle: Bundle, key: unknown, index: number): Promise<string | undefined> {
  if (!isRecord(key) || typeof key.kty !== "string") throw new BundleError(`key ${index} is not a JWK (no "kty")`);
  const jwk = key as BundleJwk;
  if (typeof jwk.use !== "string" || !KNOWN_USE.has(jwk.use))
    return `unknown use ${JSON.stringify(jwk.use ?? null).slice(0, 40)}`;
  if (!SUPPORTED_KTY.has(jwk.kty)) return `unsupported kty "${jwk.kty.slice(0, 16)}"`;
  if (!importAlgorithm(jwk)) return `unsupported curve "${String(jwk.crv).slice(0, 16)}"`;
  const spki = await publicKeySpki(jwk, index);
  if (jwk.use === "x509-svid") bundle.x509Authorities.push(x509AuthorityOf(jwk, spki, index));
  else addJwtAuthority(bundle, jwk, index);
  return undefined;
}

function x509AuthorityOf(jwk: BundleJwk, spki: Uint8Array, index: number): x509.X509Certificate {
  if (!Array.isArray(jwk.x5c) || jwk.x5c.length !== 1 || typeof jwk.x5c[0] !== "string") {
    throw new BundleError(`x509-svid key ${index} must carry exactly one certificate in "x5c"`);
  }
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(Uint8Array.from(atob(jwk.x5c[0]), (c) => c.charCodeAt(0)));
  } catch {
    throw new BundleError(`x509-svid key ${index}: "x5c" is not a base64 DER certificate`);
  }
  if (!sameBytes(new Uint8Array(cert.publicKey.rawData), spki)) {
    throw new BundleError(`x509-svid key ${index}: the JWK's parameters are not the public key of its x5c certificate`);
  }
  return cert;
}

function addJwtAuthority(bundle: Bundle, jwk: BundleJwk, index: number): void {
  if (typeof jwk.kid !== "string" || jwk.kid === "") throw new BundleError(`jwt-svid key ${index} must have a "kid"`);
  if (bundle.jwtAuthorities.has(jwk.kid))
    throw new BundleError(`jwt-svid key ${index}: "kid" ${jwk.kid.slice(0, 64)} appears twice`);
  bundle.jwtAuthorities.set(jwk.kid, { kid: jwk.kid, jwk });
}

/** The JWK's public key as SubjectPublicKeyInfo DER, which also proves its parameters are a key. */
async function publicKeySpki(jwk: BundleJwk, index: number): Promise<Uint8Array> {
  const algorithm = importAlgorithm(jwk) as KeyAlgorithm;
  const { kty, crv, x, y, n, e } = jwk;
  try {
    const key = await crypto.subtle.importKey("jwk", { kty, crv, x, y, n, e }, algorithm, true, ["verify"]);
    return await exportSpki(key);
  } catch {
    throw new BundleError(`key ${index}: its ${kty} parameters do not form a public key`);
  }
}

/** How WebCrypto imports a bundle key; RSA's hash is irrelevant to the key itself. */
function importAlgorithm(jwk: Pick<BundleJwk, "kty" | "crv">): KeyAlgorithm | undefined {
  if (jwk.kty === "RSA") return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  return typeof jwk.crv === "string" && CURVES.has(jwk.crv) ? { name: "ECDSA", namedCurve: jwk.crv } : undefined;
}

/** The JWK of a certificate's public key, with `use` x509-svid and the certificate in `x5c`. */
async function x509AuthorityJwk(cert: x509.X509Certificate): Promise<BundleJwk> {
  const exported = await exportJwk(
    await cert.publicKey.export(withHash(cert.publicKey.algorithm as KeyAlgorithm), ["verify"]),
  );
  const { kty = "", crv, x, y, n, e } = exported;
  return {
    kty,
    ...(crv ? { crv, x, y } : { n, e }),
    use: "x509-svid",
    x5c: [btoa(String.fromCharCode(...new Uint8Array(cert.rawData)))],
  };
}

/** Writes a bundle in its JWK Set form: X.509 authorities first, then the JWT authorities. */
export async function marshalBundle(bundle: Bundle): Promise<BundleDocument> {
  const x509Keys = await Promise.all(bundle.x509Authorities.map(x509AuthorityJwk));
  const jwtKeys = [...bundle.jwtAuthorities.values()].map(({ kid, jwk }) => ({ ...jwk, use: "jwt-svid", kid }));
  return {
    keys: [...x509Keys, ...jwtKeys],
    ...(bundle.sequence === undefined ? {} : { spiffe_sequence: bundle.sequence }),
    ...(bundle.refreshHintS === undefined ? {} : { spiffe_refresh_hint: bundle.refreshHintS }),
  };
}

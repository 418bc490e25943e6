/** A parsed SPIFFE ID (SPIFFE standard, "SPIFFE-ID.md"): `spiffe://<trust domain><path>`. */
export interface SpiffeId {
  readonly trustDomain: string;
  /** Empty, or `/`-separated segments starting with `/`. */
  readonly path: string;
  readonly segments: readonly string[];
  readonly uri: string;
}

export type SpiffeIdResult = { ok: true; id: SpiffeId } | { ok: false; reason: string };

const MAX_LENGTH = 2048;
const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const SEGMENT_CHARS = /^[A-Za-z0-9._-]+$/;
const PREFIX = "spiffe://";

export function isValidTrustDomain(trustDomain: string): boolean {
  return trustDomain.length > 0 && trustDomain.length <= 255 && TRUST_DOMAIN_CHARS.test(trustDomain);
}

/**
 * The one SPIFFE ID parser. Rejects, with a reason: another scheme, upper case or other characters
 * in the trust domain, a port or userinfo (":" and "@" are not trust-domain characters), query,
 * fragment, percent-encoding, empty, "." and ".." segments, and a trailing slash.
 */
export function parseSpiffeId(uri: string): SpiffeIdResult {
  const fail = (reason: string): SpiffeIdResult => ({ ok: false, reason });
  if (uri.length > MAX_LENGTH) return fail(`longer than ${MAX_LENGTH} bytes`);
  if (!uri.startsWith(PREFIX)) return fail('scheme must be "spiffe://" (lower case)');
  const rest = uri.slice(PREFIX.length);
  if (/[?#]/.test(rest)) return fail("query and fragment are not allowed");
  if (rest.includes("%")) return fail("percent-encoding is not allowed");
  const slash = rest.indexOf("/");
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? "" : rest.slice(slash);
  if (trustDomain.length === 0) return fail("trust domain is missing");
  if (trustDomain.includes("@")) return fail("userinfo is not allowed");
  if (trustDomain.includes(":")) return fail("a port is not allowed");
  if (!isValidTrustDomain(trustDomain)) return fail("trust domain may only hold a-z, 0-9, '.', '-' and '_'");
  const segments = path === "" ? [] : path.slice(1).split("/");
  for (const segment of segments) {
    if (segment === "") return fail("path segments must not be empty (no '//' and no trailing '/')");
    if (segment === "." || segment === "..") return fail("path segments '.' and '..' are not allowed");
    if (!SEGMENT_CHARS.test(segment))
      return fail(`path segment "${segment}" may only hold A-Z, a-z, 0-9, '.', '-' and '_'`);
  }
  return { ok: true, id: { trustDomain, path, segments, uri } };
}

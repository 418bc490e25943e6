import { z } from "zod";

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
    if (!SEGMENT_CHARS.test(segment)) return fail(`path segment "${segment}" may only hold A-Z, a-z, 0-9, '.', '-' and '_'`);
  }
  return { ok: true, id: { trustDomain, path, segments, uri } };
}

/** What an ID names in this system. */
export type Principal =
  | { kind: "node"; nodeId: string }
  | { kind: "service"; nodeId: string; service: string }
  | { kind: "gateway"; gatewayId: string }
  | { kind: "admin"; name: string };

export const spiffeIdOf = {
  node: (td: string, nodeId: string) => `spiffe://${td}/node/${nodeId}`,
  service: (td: string, nodeId: string, service: string) => `spiffe://${td}/node/${nodeId}/svc/${service}`,
  gateway: (td: string, gatewayId: string) => `spiffe://${td}/gateway/${gatewayId}`,
  admin: (td: string, name: string) => `spiffe://${td}/admin/${name}`,
} as const;

const NAME = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** The principal an ID of `trustDomain` names, or null for a foreign or unknown ID. */
export function principalOf(id: SpiffeId, trustDomain: string): Principal | null {
  if (id.trustDomain !== trustDomain) return null;
  const s = id.segments;
  const named = (i: number) => NAME.test(s[i] ?? "");
  if (s.length === 2 && s[0] === "node" && named(1)) return { kind: "node", nodeId: s[1] as string };
  if (s.length === 4 && s[0] === "node" && named(1) && s[2] === "svc" && named(3)) {
    return { kind: "service", nodeId: s[1] as string, service: s[3] as string };
  }
  if (s.length === 2 && s[0] === "gateway" && named(1)) return { kind: "gateway", gatewayId: s[1] as string };
  if (s.length === 2 && s[0] === "admin" && named(1)) return { kind: "admin", name: s[1] as string };
  return null;
}

/** A SPIFFE ID string, validated by `parseSpiffeId`. */
export const SpiffeIdString = z.string().superRefine((value, ctx) => {
  const result = parseSpiffeId(value);
  if (!result.ok) ctx.addIssue({ code: "custom", message: `invalid SPIFFE ID: ${result.reason}` });
});

/** The `aud` a JWT-SVID must carry to call the control plane's API. */
export const controlPlaneAudience = (trustDomain: string) => `spiffe://${trustDomain}/control-plane`;

import { parseSpiffeId } from "./id.js";

/** Which peers an endpoint accepts, by SPIFFE ID (go-spiffe's tlsconfig authorizers; replaces host names). */
export type Authorizer =
  | { kind: "exact"; spiffeId: string }
  | { kind: "trust-domain"; trustDomain: string }
  | { kind: "allowlist"; spiffeIds: readonly string[] };

export function authorizes(authorizer: Authorizer, spiffeId: string): boolean {
  switch (authorizer.kind) {
    case "exact":
      return spiffeId === authorizer.spiffeId;
    case "trust-domain": {
      const parsed = parseSpiffeId(spiffeId);
      return parsed.ok && parsed.id.trustDomain === authorizer.trustDomain;
    }
    case "allowlist":
      return authorizer.spiffeIds.includes(spiffeId);
  }
}

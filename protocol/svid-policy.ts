import type { DenyList } from "./identity.js";
import { parseSpiffeId } from "./spiffe-id.js";

/** Longest X.509-SVID lifetime (notAfter - notBefore) any verifier here accepts. */
export const MAX_SVID_LIFETIME_MS = 3600_000;

/** Which peers a TLS endpoint accepts, by SPIFFE ID (this replaces hostname checks). */
export type SpiffeAuthorizer =
  | { kind: "exact"; spiffeId: string }
  | { kind: "trust-domain"; trustDomain: string }
  | { kind: "allowlist"; spiffeIds: readonly string[] };

export function authorizes(authorizer: SpiffeAuthorizer, spiffeId: string): boolean {
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

/** Fast membership view of a deny list, by SPIFFE ID and by certificate serial (lower-case hex). */
export class DenyView {
  private ids = new Set<string>();
  private serials = new Set<string>();

  update(list: DenyList): void {
    this.ids = new Set(list.entries.flatMap((e) => (e.spiffeId ? [e.spiffeId] : [])));
    this.serials = new Set(list.entries.flatMap((e) => (e.serial ? [e.serial.toLowerCase()] : [])));
  }

  denies(spiffeId: string, serial?: string): boolean {
    return this.ids.has(spiffeId) || (serial !== undefined && this.serials.has(serial.toLowerCase()));
  }
}

import { z } from "zod";
import { parseSpiffeId, type SpiffeId } from "../spiffe/id.js";

/**
 * A SPIFFE ID string, refused with the parser's reason. The grammar is the SPIFFE library's
 * (`spiffe/id.ts`, which imports nothing): the contract names it rather than keep a copy.
 */
export const SpiffeIdString = z.string().superRefine((value, ctx) => {
  const result = parseSpiffeId(value);
  if (!result.ok) ctx.addIssue({ code: "custom", message: `invalid SPIFFE ID: ${result.reason}` });
});

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

/** The `aud` a JWT-SVID must carry to call the control plane's API. */
export const controlPlaneAudience = (trustDomain: string) => `spiffe://${trustDomain}/control-plane`;

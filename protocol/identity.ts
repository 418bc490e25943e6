import { z } from "zod";
import { messageVersion } from "./version.js";
import { NodeId } from "./ids.js";
import { ActionKey } from "./mape.js";
import { SpiffeIdString } from "./spiffe-id.js";

const Base64Url = z.string().regex(/^[A-Za-z0-9_-]+$/, "must be base64url without padding");
const IsoTime = z.iso.datetime();

/** PEM text of one or more blocks; size-capped so a CSR cannot be a denial of service. */
const Pem = (label: string) =>
  z
    .string()
    .max(16 * 1024)
    .refine((s) => s.includes(`-----BEGIN ${label}-----`), `must be a PEM ${label}`);

export const NonceResponse = z.object({ nonce: Base64Url, expiresAt: IsoTime });
export type NonceResponse = z.infer<typeof NonceResponse>;

/**
 * First attestation carries a join token; re-attestation names the registered SPIFFE ID instead
 * and proves possession of the node key registered for it. Either way the node signs
 * `attestationMessage(...)` with its Ed25519 key, binding the nonce to this CSR.
 */
export const AttestRequest = z
  .object({
    nonce: Base64Url.max(128),
    /** Raw 32-byte Ed25519 public key, base64url. */
    nodeKey: Base64Url.length(43),
    /** Ed25519 signature (64 bytes), base64url. */
    signature: Base64Url.length(86),
    csr: Pem("CERTIFICATE REQUEST"),
    joinToken: Base64Url.max(128).optional(),
    spiffeId: SpiffeIdString.optional(),
  })
  .refine((r) => (r.joinToken === undefined) !== (r.spiffeId === undefined), {
    message: "give either joinToken (first attestation) or spiffeId (re-attestation), not both",
    path: ["joinToken"],
  });
export type AttestRequest = z.infer<typeof AttestRequest>;

/** The exact bytes a node signs to attest (UTF-8). */
export function attestationMessage(nonce: string, csrSha256: string, claim: string): string {
  return `x0tta6bl4-attest-v1\n${nonce}\n${csrSha256}\n${claim}`;
}

export const X509Svid = z.object({
  /** Leaf first, then the intermediate that signed it. */
  certificates: z.array(z.string()).min(1),
  serial: z.string(),
  expiresAt: IsoTime,
});
export type X509Svid = z.infer<typeof X509Svid>;

export const JwtSvid = z.object({ token: z.string(), expiresAt: IsoTime });
export type JwtSvid = z.infer<typeof JwtSvid>;

/**
 * SPIFFE Trust Domain and Bundle: a JWK Set with SPIFFE parameters. The contract fixes only its
 * shape and size; what its keys mean (and which to ignore) is read by `spiffe/bundle.ts`.
 */
export const BundleKey = z.looseObject({
  kty: z.string().max(16),
  use: z.string().max(32).optional(),
  kid: z.string().max(256).optional(),
  x5c: z
    .array(z.string().max(16 * 1024))
    .max(4)
    .optional(),
});
export const SpiffeBundle = z.looseObject({
  keys: z.array(BundleKey).max(64),
  spiffe_sequence: z.number().int().nonnegative().optional(),
  spiffe_refresh_hint: z.number().int().positive().optional(),
});
export type SpiffeBundle = z.infer<typeof SpiffeBundle>;

export const AttestResponse = z.object({
  spiffeId: z.string(),
  x509Svid: X509Svid,
  jwtSvid: JwtSvid,
  bundle: SpiffeBundle,
  /** Keys the node verifies MAPE-K actions with. */
  actionKeys: z.array(ActionKey),
});
export type AttestResponse = z.infer<typeof AttestResponse>;

export const JoinTokenRequest = z.object({
  nodeId: NodeId,
  role: z.enum(["node", "gateway"]).default("node"),
  ttlSeconds: z.number().int().min(30).max(86_400).default(600),
});
export const JoinTokenResponse = z.object({ token: z.string(), spiffeId: z.string(), expiresAt: IsoTime });
export type JoinTokenResponse = z.infer<typeof JoinTokenResponse>;

/**
 * A JWT-SVID is minted for proof of possession of the identity's registered key (as attestation
 * takes it), never for a bearer token alone: a leaked token cannot renew itself.
 */
export const JwtSvidRequest = z.object({
  spiffeId: SpiffeIdString,
  audience: z.array(z.string().min(1).max(256)).min(1).max(8),
  ttlSeconds: z.number().int().min(10).max(300).optional(),
  /** A fresh nonce from GET /api/v1/identity/nonce, single use. */
  nonce: Base64Url.max(128),
  /** Ed25519 signature (64 bytes, base64url) by the registered key over `jwtSvidMessage`. */
  signature: Base64Url.length(86),
});
export type JwtSvidRequest = z.infer<typeof JwtSvidRequest>;

/** The exact bytes signed to mint a JWT-SVID (UTF-8); its own prefix, so it can never pass for an attestation. */
export function jwtSvidMessage(nonce: string, spiffeId: string, audience: readonly string[]): string {
  return `x0tta6bl4-jwt-svid-v1\n${nonce}\n${spiffeId}\n${audience.join(" ")}`;
}

/** A single-use dashboard login code and when it expires. */
export const LoginCode = z.object({ code: Base64Url.length(43), expiresAt: IsoTime });
export type LoginCode = z.infer<typeof LoginCode>;
export const DashboardLogin = z.object({ code: Base64Url.max(64) });

export const RevokeRequest = z
  .object({
    spiffeId: SpiffeIdString.optional(),
    serial: z
      .string()
      .regex(/^[0-9a-f]{2,64}$/, "must be a lower-case hex serial")
      .optional(),
    reason: z.string().min(1).max(256),
  })
  .refine((r) => r.spiffeId !== undefined || r.serial !== undefined, {
    message: "give spiffeId or serial",
    path: ["spiffeId"],
  });

export const DenyEntry = z.object({
  spiffeId: z.string().optional(),
  serial: z.string().optional(),
  revokedAt: IsoTime,
  reason: z.string(),
});
export type DenyEntry = z.infer<typeof DenyEntry>;

/** Everything revoked; also the payload of the retained MQTT deny list. */
export const DenyList = z.object({
  v: messageVersion(1),
  generatedAt: IsoTime,
  /** Grows with every revocation: a gateway that holds an older revision fetches the list again. */
  revision: z.number().int().nonnegative(),
  entries: z.array(DenyEntry),
});
export type DenyList = z.infer<typeof DenyList>;

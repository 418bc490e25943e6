import {
  createServer,
  type ConnectionOptions,
  type DetailedPeerCertificate,
  type Server,
  type TLSSocket,
  type TlsOptions,
} from "node:tls";
import {
  X509SvidError,
  authorizes,
  checkX509SvidChain,
  verifyX509Svid,
  type Authorizer,
  type Bundle,
  type VerifiedX509Svid,
  type X509SvidRule,
  type x509,
} from "../../spiffe/index.js";
import type { DenyView } from "./deny-view.js";
import type { SvidMaterial } from "./agent.js";

/** Longest X.509-SVID lifetime (notAfter - notBefore) any verifier here accepts: this mesh's policy, not the spec's. */
export const MAX_SVID_LIFETIME_MS = 3600_000;

/** What a TLS endpoint demands of its peer's X.509-SVID, beyond the SPIFFE rules and a chain to the bundle's roots. */
export interface PeerPolicy {
  authorizer: Authorizer;
  deny: DenyView;
}

/** Why a peer was refused, as a stable code (the reason text says more). */
export type PeerRefusal =
  | "handshake"
  | "no_certificate"
  | "untrusted_chain"
  | "bad_certificate"
  | "svid_rules"
  | "not_spiffe"
  | "lifetime"
  | "revoked"
  | "unauthorized";

/** An accepted peer: its SPIFFE ID and its leaf's serial (lower-case hex), what a deny list names. */
export type PeerCheck =
  { ok: true; spiffeId: string; serial: string } | { ok: false; refusal: PeerRefusal; reason: string };

const ID_RULES: ReadonlySet<X509SvidRule> = new Set(["leaf-uri-san-count", "leaf-spiffe-id", "leaf-id-without-path"]);
const TRUST_RULES: ReadonlySet<X509SvidRule> = new Set([
  "empty-chain",
  "chain-order",
  "chain-signature",
  "untrusted",
  "not-yet-valid",
  "expired",
]);

function refusalOf(error: unknown): PeerCheck {
  if (!(error instanceof X509SvidError)) throw error;
  const refusal: PeerRefusal =
    error.rule === "unparsable"
      ? "bad_certificate"
      : ID_RULES.has(error.rule)
        ? "not_spiffe"
        : TRUST_RULES.has(error.rule)
          ? "untrusted_chain"
          : "svid_rules";
  return { ok: false, refusal, reason: `${error.rule}: ${error.message}` };
}

/** This mesh's policy on a chain that met the SPIFFE rules: a lifetime of at most an hour, not revoked, authorized. */
function checkPolicy(verified: VerifiedX509Svid, policy: PeerPolicy): PeerCheck {
  const leaf = verified.chain[0] as x509.X509Certificate;
  const spiffeId = verified.id.uri;
  const lifetime = leaf.notAfter.getTime() - leaf.notBefore.getTime();
  if (lifetime > MAX_SVID_LIFETIME_MS)
    return {
      ok: false,
      refusal: "lifetime",
      reason: `peer certificate lifetime ${Math.round(lifetime / 1000)} s exceeds 3600 s`,
    };
  if (policy.deny.denies(spiffeId, leaf.serialNumber))
    return { ok: false, refusal: "revoked", reason: `${spiffeId} is revoked` };
  if (!authorizes(policy.authorizer, spiffeId))
    return { ok: false, refusal: "unauthorized", reason: `${spiffeId} is not authorized here` };
  return { ok: true, spiffeId, serial: leaf.serialNumber.toLowerCase() };
}

/**
 * A peer's chain (leaf first) held to the SPIFFE X.509-SVID rules against our bundle, then to the
 * policy. Synchronous, for Node's client-side hook: the signatures along the chain are OpenSSL's
 * there (it verified them against the same roots before calling); `verifyPeerChain` checks them too.
 */
export function checkPeerChain(
  chain: readonly Uint8Array[],
  bundle: Bundle,
  policy: PeerPolicy,
  now = new Date(),
): PeerCheck {
  try {
    return checkPolicy(checkX509SvidChain(chain, bundle.x509Authorities, now, bundle.trustDomain), policy);
  } catch (error) {
    return refusalOf(error);
  }
}

/** As `checkPeerChain`, and every signature along the chain verified in project code. */
export async function verifyPeerChain(
  chain: readonly Uint8Array[],
  bundle: Bundle,
  policy: PeerPolicy,
  now = new Date(),
): Promise<PeerCheck> {
  try {
    return checkPolicy(await verifyX509Svid(chain, bundle.x509Authorities, now, bundle.trustDomain), policy);
  } catch (error) {
    return refusalOf(error);
  }
}

/** The chain OpenSSL built for a peer, leaf first, up to the self-signed root. */
function peerChain(peer: DetailedPeerCertificate): Uint8Array[] {
  const chain: Uint8Array[] = [];
  for (
    let cert: DetailedPeerCertificate | undefined = peer;
    cert?.raw && chain.length < 8;
    cert = cert.issuerCertificate === cert ? undefined : cert.issuerCertificate
  ) {
    chain.push(cert.raw);
  }
  return chain;
}

/** Trust anchors of the bundle (its X.509 authorities) as PEM, for OpenSSL. */
export const bundleRoots = (bundle: Bundle): string[] => bundle.x509Authorities.map((root) => root.toString("pem"));

const TLS13 = { minVersion: "TLSv1.3", maxVersion: "TLSv1.3" } as const;

interface Material {
  key: string;
  cert: string;
  ca: string[];
  minVersion: "TLSv1.3";
  maxVersion: "TLSv1.3";
}

function material(svid: SvidMaterial): Material {
  return { key: svid.keyPem, cert: svid.certificates.join("\n"), ca: bundleRoots(svid.bundle), ...TLS13 };
}

export type ClientTls = Material & Required<Pick<ConnectionOptions, "rejectUnauthorized" | "checkServerIdentity">>;

/**
 * Server side: TLS 1.3 only, a client certificate requested and chain-checked by OpenSSL. The
 * verdict is taken by `createSvidTlsServer` right after the handshake, before any byte reaches the
 * application, so that every refusal carries its reason (expired, unknown CA, revoked, …).
 */
function serverTlsOptions(svid: SvidMaterial): TlsOptions {
  return { ...material(svid), requestCert: true, rejectUnauthorized: false };
}

export interface SvidTlsServer {
  server: Server;
  /** A rotated SVID: new handshakes present it; established connections keep theirs. */
  updateSvid(svid: SvidMaterial): void;
}

/** A TLS server for SVID peers: accepted sockets come with the peer's SPIFFE ID; the others are closed and reported. */
export function createSvidTlsServer(
  svid: SvidMaterial,
  policy: PeerPolicy,
  onAccepted: (socket: TLSSocket, peer: { spiffeId: string; serial: string }) => void,
  onRefused: (refusal: PeerRefusal, reason: string, remote: string | undefined) => void,
): SvidTlsServer {
  let current = svid;
  const server = createServer(serverTlsOptions(svid), (socket) => {
    // The socket stays paused until the application reads it, so no byte is taken before the verdict.
    void checkTlsClient(socket, current.bundle, policy).then((check) => {
      if (check.ok) {
        onAccepted(socket, { spiffeId: check.spiffeId, serial: check.serial });
        return;
      }
      onRefused(check.refusal, check.reason, socket.remoteAddress);
      socket.destroy();
    });
  });
  server.on("tlsClientError", (error) => {
    onRefused("handshake", `TLS handshake failed: ${error.message}`, undefined);
  });
  return {
    server,
    updateSvid: (next) => {
      current = next;
      server.setSecureContext(serverTlsOptions(next));
    },
  };
}

/** Client side: TLS 1.3 only, our SVID presented, and the server's SPIFFE ID checked instead of its host name. */
export function clientTlsOptions(svid: SvidMaterial, policy: PeerPolicy): ClientTls {
  return {
    ...material(svid),
    rejectUnauthorized: true,
    checkServerIdentity: (_host, cert) => {
      const check = checkPeerChain(peerChain(cert as DetailedPeerCertificate), svid.bundle, policy);
      return check.ok ? undefined : new Error(check.reason);
    },
  };
}

/**
 * After a server handshake: OpenSSL's chain verdict, then the SPIFFE checks, since Node offers no
 * server-side verify hook.
 */
async function checkTlsClient(socket: TLSSocket, bundle: Bundle, policy: PeerPolicy): Promise<PeerCheck> {
  const peer = socket.getPeerCertificate(true);
  if (Object.keys(peer).length === 0) return { ok: false, refusal: "no_certificate", reason: "no client certificate" };
  if (!socket.authorized)
    return {
      ok: false,
      refusal: "untrusted_chain",
      reason: `client certificate refused: ${String(socket.authorizationError)}`,
    };
  return verifyPeerChain(peerChain(peer), bundle, policy);
}

import { createServer, type ConnectionOptions, type Server, type TLSSocket, type TlsOptions } from "node:tls";
import { MAX_SVID_LIFETIME_MS, authorizes, parseSpiffeId, type DenyView, type SpiffeAuthorizer, type SpiffeBundle } from "../../protocol/index.js";
import { x509 } from "../../protocol/x509.js";
import type { SvidMaterial } from "./agent.js";

/** What a TLS endpoint demands of its peer's X.509-SVID, beyond a chain to the bundle's roots. */
export interface PeerPolicy {
  authorizer: SpiffeAuthorizer;
  deny: DenyView;
}

/** Why a peer was refused, as a stable code (the reason text says more). */
export type PeerRefusal = "handshake" | "no_certificate" | "untrusted_chain" | "bad_certificate" | "not_spiffe" | "lifetime" | "revoked" | "unauthorized";

export type PeerCheck = { ok: true; spiffeId: string } | { ok: false; refusal: PeerRefusal; reason: string };

/**
 * The SPIFFE checks OpenSSL does not do: exactly one URI SAN holding a valid SPIFFE ID, a lifetime
 * of at most an hour, not revoked (by ID or serial), and accepted by the authorizer.
 */
export function checkPeerCertificate(der: Uint8Array, policy: PeerPolicy): PeerCheck {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(der);
  } catch {
    return { ok: false, refusal: "bad_certificate", reason: "peer certificate does not parse" };
  }
  const uris = (cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? []).filter((n) => n.type === "url");
  if (uris.length !== 1) return { ok: false, refusal: "not_spiffe", reason: `peer certificate must have exactly one URI SAN, has ${uris.length}` };
  const spiffeId = (uris[0] as { value: string }).value;
  const parsed = parseSpiffeId(spiffeId);
  if (!parsed.ok) return { ok: false, refusal: "not_spiffe", reason: `peer URI SAN is not a SPIFFE ID: ${parsed.reason}` };
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  if (lifetime > MAX_SVID_LIFETIME_MS) return { ok: false, refusal: "lifetime", reason: `peer certificate lifetime ${Math.round(lifetime / 1000)} s exceeds 3600 s` };
  if (policy.deny.denies(spiffeId, cert.serialNumber)) return { ok: false, refusal: "revoked", reason: `${spiffeId} is revoked` };
  if (!authorizes(policy.authorizer, spiffeId)) return { ok: false, refusal: "unauthorized", reason: `${spiffeId} is not authorized here` };
  return { ok: true, spiffeId };
}

/** Trust anchors of the bundle (its `x509-svid` keys) as PEM. */
export function bundleRoots(bundle: SpiffeBundle): string[] {
  return bundle.keys
    .filter((k) => k.use === "x509-svid" && k.x5c?.[0])
    .map((k) => `-----BEGIN CERTIFICATE-----\n${(k.x5c?.[0] ?? "").match(/.{1,64}/g)?.join("\n") ?? ""}\n-----END CERTIFICATE-----\n`);
}

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
  onAccepted: (socket: TLSSocket, spiffeId: string) => void,
  onRefused: (refusal: PeerRefusal, reason: string, remote: string | undefined) => void,
): SvidTlsServer {
  const server = createServer(serverTlsOptions(svid), (socket) => {
    const check = checkTlsClient(socket, policy);
    if (check.ok) {
      onAccepted(socket, check.spiffeId);
      return;
    }
    onRefused(check.refusal, check.reason, socket.remoteAddress);
    socket.destroy();
  });
  server.on("tlsClientError", (error) => { onRefused("handshake", `TLS handshake failed: ${error.message}`, undefined); });
  return { server, updateSvid: (next) => { server.setSecureContext(serverTlsOptions(next)); } };
}

/** Client side: TLS 1.3 only, our SVID presented, and the server's SPIFFE ID checked instead of its host name. */
export function clientTlsOptions(svid: SvidMaterial, policy: PeerPolicy): ClientTls {
  return {
    ...material(svid),
    rejectUnauthorized: true,
    checkServerIdentity: (_host, cert) => {
      const check = checkPeerCertificate(cert.raw, policy);
      return check.ok ? undefined : new Error(check.reason);
    },
  };
}

/** After a server handshake: chain verdict, then the SPIFFE checks, since Node offers no server-side verify hook. */
function checkTlsClient(socket: TLSSocket, policy: PeerPolicy): PeerCheck {
  const peer = socket.getPeerCertificate();
  if (Object.keys(peer).length === 0) return { ok: false, refusal: "no_certificate", reason: "no client certificate" };
  if (!socket.authorized) return { ok: false, refusal: "untrusted_chain", reason: `client certificate refused: ${String(socket.authorizationError)}` };
  return checkPeerCertificate(peer.raw, policy);
}

import {
  attestationMessage,
  controlPlaneAudience,
  type AttestRequest,
  type AttestResponse,
} from "../../protocol/index.js";
import { auditStatement, refusalUpsert } from "../audit/log.js";
import type { Database } from "../db/client.js";
import type { Settings } from "../env.js";
import { ProblemError } from "../http/problem.js";
import type { Authority } from "./authority.js";
import { currentBundle } from "./bundle.js";
import { sha256Hex } from "../lib/digest.js";
import { mintJwtSvid } from "./jwtsvid.js";
import { checkNonce } from "./nonce.js";
import { registeredKey, verifyNodeSignature, type PossessionContext } from "./possession.js";
import { consumeJoinToken, findJoinToken, isRevoked, registrationUpsert, spendNonce, svidRecord } from "./store.js";
import { CsrError, checkCsr, issueX509Svid } from "./x509svid.js";

export interface AttestContext extends PossessionContext {
  db: Database;
  authority: Authority;
  settings: Settings;
  bootstrapAdmins: string | undefined;
  now: number;
  /** Where the request came from: anonymous refusals are counted by it. */
  source: string;
}

/** A refusal the caller sees as problem+json and the audit log records with its reason. */
class Refusal extends Error {
  constructor(
    readonly problem: ProblemError,
    readonly subject: string | null,
  ) {
    super(problem.message);
  }
}

const refuse = (subject: string | null, kind: "attestation-failed" | "revoked" | "invalid-csr", detail: string) =>
  new Refusal(new ProblemError(kind, detail), subject);

interface Claim {
  spiffeId: string;
  /** What the node signed as its claim: the token's hash, or the SPIFFE ID it re-attests as. */
  signed: string;
  tokenHash?: string;
}

async function resolveClaim(ctx: AttestContext, request: AttestRequest): Promise<Claim> {
  if (request.joinToken !== undefined) {
    const tokenHash = await sha256Hex(request.joinToken);
    const token = await findJoinToken(ctx.db, tokenHash);
    if (!token) throw refuse(null, "attestation-failed", "unknown join token");
    if (token.usedAt !== null) throw refuse(token.spiffeId, "attestation-failed", "join token was already used");
    if (token.expiresAt <= ctx.now) throw refuse(token.spiffeId, "attestation-failed", "join token has expired");
    return { spiffeId: token.spiffeId, signed: `join-token:${tokenHash}`, tokenHash };
  }
  const spiffeId = request.spiffeId as string;
  const registered = await registeredKey(ctx, spiffeId);
  if ("refused" in registered) throw refuse(spiffeId, "attestation-failed", registered.refused);
  if (registered.key !== request.nodeKey)
    throw refuse(spiffeId, "attestation-failed", "node key does not match the registered key");
  return { spiffeId, signed: spiffeId };
}

async function attestChecked(ctx: AttestContext, request: AttestRequest): Promise<AttestResponse> {
  const nonce = await checkNonce(ctx.authority.nonceKey, request.nonce, ctx.now);
  if (!nonce.ok) throw refuse(request.spiffeId ?? null, "attestation-failed", nonce.reason);
  const claim = await resolveClaim(ctx, request);
  if (await isRevoked(ctx.db, claim.spiffeId)) throw refuse(claim.spiffeId, "revoked", `${claim.spiffeId} is revoked`);

  let csr;
  try {
    csr = await checkCsr(request.csr, claim.spiffeId);
  } catch (error) {
    if (error instanceof CsrError) throw refuse(claim.spiffeId, "invalid-csr", error.message);
    throw error;
  }
  const message = attestationMessage(request.nonce, csr.digest, claim.signed);
  if (!(await verifyNodeSignature(request.nodeKey, request.signature, message))) {
    throw refuse(claim.spiffeId, "attestation-failed", "signature over the nonce does not verify with the node key");
  }
  if (!(await spendNonce(ctx.db, request.nonce, nonce.expiresAt, ctx.now))) {
    throw refuse(claim.spiffeId, "attestation-failed", "nonce was already used");
  }
  if (claim.tokenHash && !(await consumeJoinToken(ctx.db, claim.tokenHash, ctx.now))) {
    throw refuse(claim.spiffeId, "attestation-failed", "join token was already used");
  }

  const svid = await issueX509Svid(ctx.authority, claim.spiffeId, csr.publicKey, ctx.settings.x509SvidTtlS, ctx.now);
  const jwt = await mintJwtSvid(
    ctx.authority,
    claim.spiffeId,
    [controlPlaneAudience(ctx.authority.trustDomain)],
    ctx.settings.jwtSvidTtlS,
    ctx.now,
  );
  await ctx.db.batch([
    registrationUpsert(ctx.db, claim.spiffeId, request.nodeKey, ctx.now),
    svidRecord(ctx.db, {
      serial: svid.serial,
      spiffeId: claim.spiffeId,
      notBefore: svid.notBefore,
      notAfter: svid.notAfter,
    }),
    auditStatement(
      ctx.db,
      {
        actor: claim.spiffeId,
        action: claim.tokenHash ? "attest.join-token" : "attest.proof-of-possession",
        subject: claim.spiffeId,
        outcome: "success",
        detail: { serial: svid.serial, notAfter: new Date(svid.notAfter).toISOString() },
      },
      ctx.now,
    ),
  ]);
  return {
    spiffeId: claim.spiffeId,
    x509Svid: {
      certificates: svid.certificates,
      serial: svid.serial,
      expiresAt: new Date(svid.notAfter).toISOString(),
    },
    jwtSvid: { token: jwt.token, expiresAt: new Date(jwt.expiresAt).toISOString() },
    bundle: await currentBundle(ctx.db, ctx.authority, ctx.settings.bundleRefreshHintS, ctx.now),
    actionKeys: ctx.authority.actionKeys,
  };
}

/**
 * Runs an attestation; a refusal issues nothing and is audited with its reason when it names an
 * identity, or counted per source when it is anonymous (a bad join token names nobody).
 */
export async function attest(ctx: AttestContext, request: AttestRequest): Promise<AttestResponse> {
  try {
    return await attestChecked(ctx, request);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    const action = request.joinToken ? "attest.join-token" : "attest.proof-of-possession";
    await (error.subject === null
      ? refusalUpsert(ctx.db, { reason: action, source: ctx.source, detail: error.message }, ctx.now)
      : auditStatement(
          ctx.db,
          {
            actor: error.subject,
            action,
            subject: error.subject,
            outcome: "denied",
            detail: { reason: error.message },
          },
          ctx.now,
        ));
    throw error.problem;
  }
}

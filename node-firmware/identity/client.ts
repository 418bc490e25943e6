import {
  AttestResponse,
  JwtSvid,
  NonceResponse,
  PROBLEM_CONTENT_TYPE,
  Problem,
  SpiffeBundle,
  errorText,
  jwtSvidMessage,
} from "../../protocol/index.js";
import { base64url } from "../../spiffe/index.js";
import { buildAttestRequest, createCsr, generateSvidKey, type AttestClaim, type KeyPair } from "./attest-request.js";
import type { z } from "zod";

export class EdgeRequestError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly problem?: Problem,
  ) {
    super(message);
    this.name = "EdgeRequestError";
  }

  /** Worth trying again later: the edge was unreachable or failed, rather than refusing us. */
  get retriable(): boolean {
    return this.status === null || this.status >= 500 || this.status === 429;
  }
}

const TIMEOUT_MS = 10_000;

async function call<S extends z.ZodType>(
  edgeUrl: string,
  path: string,
  schema: S,
  init: RequestInit = {},
): Promise<z.infer<S>> {
  let response: Response;
  try {
    response = await fetch(new URL(path, edgeUrl), { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    throw new EdgeRequestError(`${path}: ${errorText(error)}`, null);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    // An error's body may be anything; a success's must be what the schema reads.
    if (response.ok)
      throw new EdgeRequestError(
        `${path}: HTTP ${response.status} with a body that is not JSON: ${errorText(error)}`,
        null,
      );
  }
  if (!response.ok) {
    const problem = response.headers.get("content-type")?.startsWith(PROBLEM_CONTENT_TYPE)
      ? Problem.safeParse(body)
      : undefined;
    const detail = problem?.success ? `${problem.data.title}: ${problem.data.detail ?? ""}` : response.statusText;
    throw new EdgeRequestError(
      `${path}: HTTP ${response.status} ${detail}`,
      response.status,
      problem?.success ? problem.data : undefined,
    );
  }
  return schema.parse(body);
}

const jsonPost = (body: unknown, token?: string): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});

export interface Attested {
  response: AttestResponse;
  /** The fresh P-256 key the X.509-SVID was issued for. */
  svidKey: KeyPair;
}

/** One attestation round trip: fresh nonce, fresh SVID key and CSR, signed by the node key. */
export async function attest(edgeUrl: string, nodeKey: KeyPair, claim: AttestClaim): Promise<Attested> {
  const { nonce } = await call(edgeUrl, "/api/v1/identity/nonce", NonceResponse);
  const svidKey = await generateSvidKey();
  const csr = await createCsr(svidKey, "spiffeId" in claim ? claim.spiffeId : undefined);
  const request = await buildAttestRequest(nonce, nodeKey, csr, claim);
  const response = await call(edgeUrl, "/api/v1/identity/attest", AttestResponse, jsonPost(request));
  return { response, svidKey };
}

export const fetchBundle = (edgeUrl: string) => call(edgeUrl, "/api/v1/identity/bundle", SpiffeBundle);

/** A JWT-SVID for proof of possession of the node key over a fresh nonce: no bearer token renews itself. */
export async function mintJwtSvid(edgeUrl: string, nodeKey: KeyPair, spiffeId: string, audience: string[]) {
  const { nonce } = await call(edgeUrl, "/api/v1/identity/nonce", NonceResponse);
  const signature = await crypto.subtle.sign(
    { name: "Ed25519" },
    nodeKey.privateKey,
    new TextEncoder().encode(jwtSvidMessage(nonce, spiffeId, audience)),
  );
  return call(
    edgeUrl,
    "/api/v1/identity/jwt-svid",
    JwtSvid,
    jsonPost({ spiffeId, audience, nonce, signature: base64url(signature) }),
  );
}

/** An authenticated call to the control plane with a JWT-SVID. */
export function callEdge<S extends z.ZodType>(
  edgeUrl: string,
  token: string,
  path: string,
  schema: S,
  init: RequestInit = {},
) {
  return call(edgeUrl, path, schema, {
    ...init,
    headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` },
  });
}

import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import {
  PROBLEM_CONTENT_TYPE,
  describeIssues,
  errorText,
  problemTypeUri,
  type Issue,
  type Problem,
} from "../../protocol/index.js";

/** The closed set of problem types this API returns; the slug is part of the stable `type` URI. */
const PROBLEM_TYPES = {
  validation: { status: 400, title: "Request failed validation" },
  "malformed-json": { status: 400, title: "Request body is not valid JSON" },
  "invalid-csr": { status: 400, title: "Certificate signing request refused" },
  unauthorized: { status: 401, title: "Authentication required" },
  "attestation-failed": { status: 401, title: "Attestation failed" },
  forbidden: { status: 403, title: "Not allowed for this identity" },
  revoked: { status: 403, title: "Identity revoked" },
  "not-found": { status: 404, title: "No such resource" },
  "method-not-allowed": { status: 405, title: "Method not allowed on this resource" },
  conflict: { status: 409, title: "Conflicts with the resource's state" },
  "payload-too-large": { status: 413, title: "Request body exceeds the size limit" },
  "unsupported-media-type": { status: 415, title: "Unsupported content type" },
  internal: { status: 500, title: "Internal error" },
  "upstream-failed": { status: 502, title: "A service this request needs failed" },
} as const;
export type ProblemKind = keyof typeof PROBLEM_TYPES;

export class ProblemError extends Error {
  constructor(
    readonly kind: ProblemKind,
    readonly detail?: string,
    readonly extra: { issues?: Issue[]; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? PROBLEM_TYPES[kind].title);
    this.name = "ProblemError";
  }

  static validation(error: ZodError, where: string): ProblemError {
    const issues = describeIssues(error);
    return new ProblemError("validation", `${where} has ${issues.length} invalid field(s)`, { issues });
  }
}

/** A detail may quote what the caller sent; it is clipped so that an answer stays small. */
const MAX_DETAIL_CHARS = 1024;

export function problemResponse(c: Context, error: ProblemError): Response {
  const { status, title } = PROBLEM_TYPES[error.kind];
  const body: Problem = { type: problemTypeUri(error.kind), title, status, instance: new URL(c.req.url).pathname };
  if (error.detail !== undefined)
    body.detail =
      error.detail.length > MAX_DETAIL_CHARS ? `${error.detail.slice(0, MAX_DETAIL_CHARS - 1)}…` : error.detail;
  if (error.extra.issues) body.issues = error.extra.issues;
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...error.extra.headers },
  });
}

/** The one error handler: every failure leaves as problem+json, and a 500 never carries internals. */
export function handleError(error: Error, c: Context): Response {
  if (error instanceof ProblemError) return problemResponse(c, error);
  if (error instanceof HTTPException && error.status < 500) {
    return problemResponse(c, new ProblemError(kindForStatus(error.status), error.message));
  }
  // A wrapped error (drizzle wraps D1's) says what went wrong in its cause.
  const cause = error.cause === undefined ? {} : { cause: errorText(error.cause) };
  console.error(JSON.stringify({ msg: "unhandled error", path: c.req.path, error: String(error), ...cause }));
  return problemResponse(c, new ProblemError("internal", "The server could not complete the request."));
}

function kindForStatus(status: number): ProblemKind {
  const match = Object.entries(PROBLEM_TYPES).find(([, t]) => t.status === status);
  return (match?.[0] as ProblemKind | undefined) ?? "validation";
}

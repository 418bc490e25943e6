import { LoginCode, PROBLEM_CONTENT_TYPE, Problem, errorText, type SimFault } from "../protocol/index.js";
import type { z } from "zod";

export const DEFAULT_API = "http://127.0.0.1:8787";

export class ApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ApiError";
  }
}

export interface ApiSession {
  api: string;
  /** A JWT-SVID for the admin, obtained on first use. */
  token(): Promise<string>;
  /** Fault injection into a simulated node, over the mesh's broker. */
  simFault(nodeId: string, fault: SimFault): Promise<void>;
}

/**
 * Calls a control-plane resource as the admin and validates the answer against the route's
 * protocol schema (a 204's absent body is `undefined`). GET without a body, POST with one, unless
 * `method` says otherwise.
 */
export async function request<S extends z.ZodType>(
  session: ApiSession,
  path: string,
  schema: S,
  body?: unknown,
  method: "GET" | "POST" | "PUT" | "DELETE" = body === undefined ? "GET" : "POST",
): Promise<z.infer<S>> {
  return (await requestWithStatus(session, path, schema, body, method)).body;
}

/** `request`, with the HTTP status of the answer (where 200 and 201 say different things). */
export async function requestWithStatus<S extends z.ZodType>(
  session: ApiSession,
  path: string,
  schema: S,
  body?: unknown,
  method: "GET" | "POST" | "PUT" | "DELETE" = body === undefined ? "GET" : "POST",
): Promise<{ status: number; body: z.infer<S> }> {
  const url = new URL(path, session.api);
  let response: Response;
  try {
    const headers: Record<string, string> = {
      accept: "application/json",
      authorization: `Bearer ${await session.token()}`,
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    response = await fetch(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(`cannot reach the control plane at ${session.api}: ${errorText(error)}`);
  }
  const parsedBody: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const problem = response.headers.get("content-type")?.startsWith(PROBLEM_CONTENT_TYPE)
      ? Problem.safeParse(parsedBody)
      : undefined;
    const reason = problem?.success
      ? `${problem.data.title}${problem.data.detail ? `: ${problem.data.detail}` : ""}`
      : response.statusText;
    throw new ApiError(`${url.pathname}: HTTP ${response.status} ${reason}`);
  }
  const parsed = schema.safeParse(parsedBody);
  if (!parsed.success)
    throw new ApiError(`${url.pathname}: unexpected response shape (${parsed.error.issues[0]?.message ?? "invalid"})`);
  return { status: response.status, body: parsed.data };
}

/**
 * The dashboard's URL with a single-use login code in its fragment: the browser exchanges it for
 * an HttpOnly session cookie; no server, proxy or log sees the code, and it works once, for 60 s.
 */
export async function dashboardUrl(session: Pick<ApiSession, "api" | "token">): Promise<string> {
  const { code } = await request(session as ApiSession, "/api/v1/dashboard/login-codes", LoginCode, {});
  return `${new URL("/", session.api).href}#code=${code}`;
}

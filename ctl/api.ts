import { PROBLEM_CONTENT_TYPE, Problem } from "../protocol/index.js";
import type { z } from "zod";

export const DEFAULT_API = "http://127.0.0.1:8787";

export class ApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ApiError";
  }
}

/** GETs a control-plane resource and validates it against the protocol schema of that route. */
export async function getResource<S extends z.ZodType>(api: string, path: string, schema: S): Promise<z.infer<S>> {
  const url = new URL(path, api);
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new ApiError(`cannot reach the control plane at ${api}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const problem = response.headers.get("content-type")?.startsWith(PROBLEM_CONTENT_TYPE) ? Problem.safeParse(body) : undefined;
    const reason = problem?.success ? `${problem.data.title}${problem.data.detail ? `: ${problem.data.detail}` : ""}` : response.statusText;
    throw new ApiError(`${url.pathname}: HTTP ${response.status} ${reason}`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ApiError(`${url.pathname}: unexpected response shape (${parsed.error.issues[0]?.message ?? "invalid"})`);
  return parsed.data;
}

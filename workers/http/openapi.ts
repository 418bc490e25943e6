import { OpenAPIHono, type Hook } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { z } from "zod";
import { PROBLEM_CONTENT_TYPE, Problem } from "../../protocol/index.js";
import type { AppEnv } from "../env.js";
import { ProblemError } from "./problem.js";

const TARGET_NAMES: Record<string, string> = { json: "Request body", query: "Query string", param: "Path" };

/** Validation failures of every route become one 400 problem listing each zod issue. */
const rejectInvalid: Hook<unknown, AppEnv, string, unknown> = (result) => {
  if (!result.success) throw ProblemError.validation(result.error, TARGET_NAMES[result.target] ?? result.target);
};

/**
 * The same, and `record` notes the refusal (routes whose every refused attempt is audited); the
 * write outlives the response.
 */
export const rejectInvalidAndRecord =
  <T, P extends string>(
    record: (c: Context<AppEnv>, problem: ProblemError) => Promise<void>,
  ): Hook<T, AppEnv, P, undefined> =>
  (result, c) => {
    if (result.success) return undefined;
    const problem = ProblemError.validation(result.error, TARGET_NAMES[result.target] ?? result.target);
    c.executionCtx.waitUntil(record(c, problem));
    throw problem;
  };

/** Every domain builds its routes on this, so validation and errors behave the same everywhere. */
export const createRouter = () => new OpenAPIHono<AppEnv>({ defaultHook: rejectInvalid });

export const jsonBody = <S extends z.ZodType>(schema: S) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const jsonResponse = <S extends z.ZodType>(schema: S, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid request (validation issues listed in `issues`)",
  401: "Missing or refused credentials",
  403: "Identity not allowed here, or revoked",
  404: "Not found",
  413: "Body over the size limit",
  409: "Conflicts with the resource's state",
  415: "Body is not application/json",
  502: "A service the request needs (such as the embedder) failed",
};

export function problemResponses<const S extends number>(...statuses: S[]) {
  const entries = statuses.map((status) => [
    status,
    { description: PROBLEM_DESCRIPTIONS[status] ?? "Error", content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } } },
  ]);
  return Object.fromEntries(entries) as Record<
    S,
    { description: string; content: Record<string, { schema: typeof Problem }> }
  >;
}

import type { Context } from "hono";
import { ProblemError, problemResponse } from "./problem.js";

interface KnownRoute {
  pattern: RegExp;
  method: string;
}

function toPattern(path: string): RegExp {
  const escaped = path
    .split("/")
    .map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  // eslint-disable-next-line security/detect-non-literal-regexp -- built from our own route table, escaped above
  return new RegExp(`^${escaped}$`);
}

/**
 * Unknown routes: 405 with `Allow` when the path exists under another method, else 404.
 * Reads the route table when first needed, after every route is registered.
 */
export function notFoundHandler(app: {
  readonly routes: readonly { method: string; path: string }[];
}): (c: Context) => Response {
  let known: KnownRoute[] | undefined;
  return (c) => {
    known ??= app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => ({ pattern: toPattern(r.path), method: r.method }));
    const allowed = [...new Set(known.filter((r) => r.pattern.test(c.req.path)).map((r) => r.method))];
    if (allowed.length === 0) return problemResponse(c, new ProblemError("not-found", `No resource at ${c.req.path}`));
    if (allowed.includes("GET")) allowed.push("HEAD");
    const allow = allowed.join(", ");
    return problemResponse(
      c,
      new ProblemError("method-not-allowed", `${c.req.method} is not allowed here; allowed: ${allow}`, {
        headers: { allow },
      }),
    );
  };
}

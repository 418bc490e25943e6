import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ProblemError } from "./problem.js";

const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

/** Request bodies are JSON: 415 for any other content type, 400 for JSON that does not parse. */
export const requireJsonBody: MiddlewareHandler = async (c, next) => {
  if (!METHODS_WITH_BODY.has(c.req.method)) return next();
  const contentType = c.req.header("content-type") ?? "";
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json") {
    throw new ProblemError(
      "unsupported-media-type",
      `Expected content-type application/json, got ${contentType === "" ? "none" : `"${contentType}"`}`,
    );
  }
  try {
    await c.req.json();
  } catch (error) {
    // Anything but a parse failure (such as the body limit tripping mid-stream) keeps its own meaning.
    if (!(error instanceof SyntaxError)) throw error;
    throw new ProblemError("malformed-json", error.message);
  }
  return next();
};

export function limitBody(maxSize: number): MiddlewareHandler {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ProblemError("payload-too-large", `The body limit is ${maxSize} bytes`);
    },
  });
}

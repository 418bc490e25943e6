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

/**
 * An answer given before the body was read (an early 401, 413 or 415) would otherwise leave unread
 * bytes in the socket when workerd closes it: the kernel then resets the connection and the client
 * can lose the answer mid-upload. Reading the rest, up to `maxDrainBytes`, lets the answer arrive;
 * a body declared larger than that is not worth reading, and its sender may see the reset.
 */
export function drainUnreadBody(maxDrainBytes: number): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const { body, bodyUsed } = c.req.raw;
    if (body === null || bodyUsed) return;
    if (Number(c.req.header("content-length") ?? 0) > maxDrainBytes) return;
    await discard(body, maxDrainBytes);
  };
}

async function discard(body: ReadableStream<unknown>, maxBytes: number): Promise<void> {
  const reader = body.getReader();
  let read = 0;
  try {
    while (read <= maxBytes) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += ArrayBuffer.isView(chunk.value) ? chunk.value.byteLength : 0;
    }
    await reader.cancel();
  } catch {
    // The sender went away or the body limit tripped mid-stream: nothing more to read either way.
  }
}

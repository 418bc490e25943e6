import {
  EmbedRequest,
  PROBLEM_CONTENT_TYPE,
  RAG_DIMENSIONS,
  describeIssues,
  encodeVector,
  problemTypeUri,
  type EmbedResponse,
  type Issue,
  type Problem,
} from "../protocol/index.js";
import type { Embedder } from "./transformers.js";

/** A request body past this is refused before it is read whole (64 texts of 16 Ki characters fit). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

function problem(status: number, slug: string, title: string, detail?: string, issues?: Issue[]): Response {
  const body: Problem = {
    type: problemTypeUri(slug),
    title,
    status,
    ...(detail ? { detail } : {}),
    ...(issues ? { issues } : {}),
  };
  return Response.json(body, { status, headers: { "content-type": PROBLEM_CONTENT_TYPE } });
}

async function embed(embedder: Embedder, request: Request): Promise<Response> {
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > MAX_BODY_BYTES) return problem(413, "payload-too-large", "Request body exceeds the size limit");
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return problem(400, "malformed-json", "Request body is not valid JSON");
  }
  const parsed = EmbedRequest.safeParse(body);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error);
    return problem(400, "validation", "Request failed validation", `${String(issues.length)} invalid field(s)`, issues);
  }
  const vectors = await embedder.embed(parsed.data.texts);
  const answer: EmbedResponse = {
    model: embedder.model,
    dimensions: RAG_DIMENSIONS,
    vectors: vectors.map(encodeVector),
  };
  return Response.json(answer);
}

/**
 * The embedder as a fetch handler: what `npm start` gives the Worker as a Miniflare service
 * binding, and what `serveEmbedder` puts on HTTP. POST /embed, GET /tokenizer, GET /healthz.
 */
export function embedderHandler(embedder: Embedder): (request: Request) => Promise<Response> {
  return async (request) => {
    const { pathname } = new URL(request.url);
    try {
      if (pathname === "/embed" && request.method === "POST") return await embed(embedder, request);
      if (pathname === "/tokenizer" && request.method === "GET")
        return new Response(await embedder.tokenizerJson(), { headers: { "content-type": "application/json" } });
      if (pathname === "/healthz" && request.method === "GET")
        return Response.json({ model: embedder.model, dimensions: RAG_DIMENSIONS });
      return problem(404, "not-found", "No such embedder endpoint", `${request.method} ${pathname}`);
    } catch (error) {
      return problem(500, "internal", "Internal error", (error as Error).message);
    }
  };
}

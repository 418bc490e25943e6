import { createRoute } from "@hono/zod-openapi";
import {
  RagAnswer,
  RagDocument,
  RagDocumentInput,
  RagDocumentList,
  RagDocumentListQuery,
  RagDocumentPath,
  RagQuery,
  RagQueryParams,
} from "../../protocol/index.js";
import type { Env } from "../env.js";
import type { Span } from "../tracing/span.js";
import type { Tracer } from "../tracing/tracer.js";
import { ANY_IDENTITY, guard } from "../http/guard.js";
import { createRouter, jsonBody, jsonResponse, problemResponses } from "../http/openapi.js";
import { ProblemError } from "../http/problem.js";
import { acceptDocument, deleteDocument, indexDocument } from "./ingest.js";
import { openRag } from "./open.js";
import { queryStats } from "./metrics.js";
import { answerQuery, type ParsedQuery } from "./query.js";
import { documentView, getDocument, listDocuments } from "./store.js";

const tags = ["rag"];
/** Up to this much text is indexed before the answer; larger documents are indexed in the background. */
const INLINE_BYTES = 32 * 1024;

const postDocument = createRoute({
  method: "post",
  path: "/api/v1/rag/documents",
  summary: "Store a runbook or incident write-up and index it (in the background when large)",
  tags,
  ...guard(["admin"], { json: true }),
  request: { body: jsonBody(RagDocumentInput) },
  responses: {
    200: jsonResponse(RagDocument, "Unchanged: the same text and metadata are already indexed"),
    201: jsonResponse(RagDocument, "Stored and searchable"),
    202: jsonResponse(RagDocument, "Stored; being indexed (poll GET …/documents/{id})"),
    ...problemResponses(400, 401, 403, 413, 415, 502),
  },
});

const getDocumentRoute = createRoute({
  method: "get",
  path: "/api/v1/rag/documents/{id}",
  summary: "A document's state and indexing progress",
  tags,
  ...guard(ANY_IDENTITY),
  request: { params: RagDocumentPath },
  responses: { 200: jsonResponse(RagDocument, "The document"), ...problemResponses(400, 401, 403, 404) },
});

const listDocumentsRoute = createRoute({
  method: "get",
  path: "/api/v1/rag/documents",
  summary: "Documents by id",
  tags,
  ...guard(ANY_IDENTITY),
  request: { query: RagDocumentListQuery },
  responses: { 200: jsonResponse(RagDocumentList, "Documents"), ...problemResponses(400, 401, 403) },
});

const deleteDocumentRoute = createRoute({
  method: "delete",
  path: "/api/v1/rag/documents/{id}",
  summary: "Delete a document, its chunks and vectors",
  tags,
  ...guard(["admin"]),
  request: { params: RagDocumentPath },
  responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 403, 404) },
});

const queryRoute = createRoute({
  method: "post",
  path: "/api/v1/rag/query",
  summary: "Search runbooks, incidents and past decisions: hybrid (vector + BM25), vector or lexical",
  tags,
  ...guard(ANY_IDENTITY, { json: true }),
  request: { body: jsonBody(RagQuery) },
  responses: {
    200: jsonResponse(RagAnswer, "Hits with their sources and score parts"),
    ...problemResponses(400, 401, 403, 413, 415),
  },
});

const queryByGetRoute = createRoute({
  method: "get",
  path: "/api/v1/rag/query",
  summary: "The same search as POST, from URL parameters (no filters but collections): for the dashboard's reads",
  tags,
  ...guard(ANY_IDENTITY),
  request: { query: RagQueryParams },
  responses: {
    200: jsonResponse(RagAnswer, "Hits with their sources and score parts"),
    ...problemResponses(400, 401, 403),
  },
});

export const ragRoutes = createRouter()
  .openapi(postDocument, async (c) => {
    const input = c.req.valid("json");
    const deps = openRag(c.env);
    const { row, changed } = await acceptDocument(deps, input);
    if (!changed) return c.json(documentView(row), 200);
    const indexing = indexDocument(deps, row.id);
    if (new TextEncoder().encode(input.text).length > INLINE_BYTES) {
      c.executionCtx.waitUntil(indexing.catch(() => undefined));
      return c.json(documentView(row), 202, { location: `/api/v1/rag/documents/${encodeURIComponent(row.id)}` });
    }
    await indexing.catch(() => undefined); // a failure is the document's state, read below
    const done = await getDocument(deps.db, row.id);
    if (!done) throw new ProblemError("not-found", `document ${row.id} was deleted while it was indexed`);
    if (done.state === "failed")
      throw new ProblemError(
        "upstream-failed",
        `document ${row.id} is stored but not indexed: ${done.error ?? "unknown"}`,
      );
    return c.json(documentView(done), 201);
  })
  .openapi(getDocumentRoute, async (c) => {
    const row = await getDocument(openRag(c.env).db, c.req.valid("param").id);
    if (!row) throw new ProblemError("not-found", `no document ${c.req.valid("param").id}`);
    return c.json(documentView(row), 200);
  })
  .openapi(listDocumentsRoute, async (c) => {
    const { collection, limit } = c.req.valid("query");
    const rows = await listDocuments(openRag(c.env).db, collection, limit);
    return c.json({ documents: rows.map(documentView) }, 200);
  })
  .openapi(deleteDocumentRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await deleteDocument(openRag(c.env), id))) throw new ProblemError("not-found", `no document ${id}`);
    return c.body(null, 204);
  })
  .openapi(queryRoute, async (c) => c.json(await timedQuery(c.env, c.req.valid("json"), c.var), 200))
  .openapi(queryByGetRoute, async (c) => {
    const { collections, ...query } = c.req.valid("query");
    return c.json(
      await timedQuery(c.env, { ...query, ...(collections ? { filter: { collections } } : {}) }, c.var),
      200,
    );
  });

/** A query answered and counted in the RAG metrics (by the mode that ran). */
async function timedQuery(env: Env, query: ParsedQuery, vars: { tracer: Tracer; requestSpan: Span }) {
  const started = performance.now();
  const answer = await answerQuery(openRag(env), query, { tracer: vars.tracer, parent: vars.requestSpan });
  queryStats.observe(answer.mode, (performance.now() - started) / 1000);
  return answer;
}

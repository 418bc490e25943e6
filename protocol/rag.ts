import { z } from "zod";
import { NodeId } from "./ids.js";

/**
 * The knowledge RAG searches: operators' runbooks, incident write-ups, and the MAPE-K loop's own
 * closed decisions (ingested by the control plane, never uploaded).
 */
export const RagCollection = z.enum(["runbooks", "incidents", "decisions"]);
export type RagCollection = z.infer<typeof RagCollection>;

/** Embedding width every embedder must produce (all-MiniLM-L6-v2, bge-small-en-v1.5). */
export const RAG_DIMENSIONS = 384;

export const ragLimits = {
  /** Largest document text, in UTF-8 bytes (a request body holds it with room for metadata). */
  documentBytes: 768 * 1024,
  /** Tokens per chunk and the overlap between neighbours (20 %). */
  chunkTokens: 512,
  chunkOverlapTokens: 102,
  queryChars: 1000,
  maxK: 50,
  /** Texts in one embedder request. */
  embedBatch: 64,
  /** Characters in one text sent to the embedder (a 512-token chunk is far below it). */
  embedTextChars: 16_384,
} as const;

const Tag = z.string().regex(/^[a-z0-9][a-z0-9_.:-]{0,63}$/, "must be 1–64 of a-z 0-9 _ . : - (lowercase)");

/** What an uploader says about a document; kept on every chunk and usable as a query filter. */
export const RagMetadata = z.strictObject({
  title: z.string().trim().min(1).max(200),
  /** Where the text came from: a path, a URL, a ticket. */
  source: z.string().min(1).max(500).optional(),
  tags: z.array(Tag).max(32).default([]),
  nodeIds: z.array(NodeId).max(64).default([]),
  decisionId: z.uuid().optional(),
});

export const RagContentType = z.enum(["text/markdown", "text/plain"]);
export type RagContentType = z.infer<typeof RagContentType>;

export const RagDocumentInput = RagMetadata.extend({
  /** Admin uploads go to runbooks or incidents; `decisions` is written by the control plane only. */
  collection: z.enum(["runbooks", "incidents"]).default("runbooks"),
  /** A stable id makes a re-upload replace the document; default: derived from collection and source or title. */
  id: z
    .string()
    .regex(/^[a-zA-Z0-9_.:-]{1,128}$/)
    .optional(),
  contentType: RagContentType.default("text/markdown"),
  text: z
    .string()
    .min(1)
    .refine((text) => new TextEncoder().encode(text).length <= ragLimits.documentBytes, {
      message: `must be at most ${String(ragLimits.documentBytes)} bytes of UTF-8`,
    }),
});
export type RagDocumentInput = z.input<typeof RagDocumentInput>;

/** pending: stored, not yet chunked; indexing: chunks being embedded; ready: searchable; failed: not searchable. */
export const RagDocumentState = z.enum(["pending", "indexing", "ready", "failed"]);

export const RagDocument = z.object({
  id: z.string(),
  collection: RagCollection,
  title: z.string(),
  source: z.string().optional(),
  tags: z.array(z.string()),
  nodeIds: z.array(NodeId),
  decisionId: z.string().optional(),
  contentType: RagContentType,
  state: RagDocumentState,
  /** Chunks of the version being indexed (or the live one, once ready) and how many are embedded. */
  chunks: z.number().int().nonnegative(),
  embeddedChunks: z.number().int().nonnegative(),
  /** Chunks kept from the previous version unchanged, not embedded again. */
  unchangedChunks: z.number().int().nonnegative(),
  /** "hybrid": chunks embedded too; "lexical": no embedder was configured when it was indexed. */
  indexedFor: z.enum(["hybrid", "lexical"]).optional(),
  error: z.string().optional(),
  updatedAt: z.number().int(),
});
export type RagDocument = z.infer<typeof RagDocument>;

export const RagMode = z.enum(["hybrid", "vector", "lexical"]);
export type RagMode = z.infer<typeof RagMode>;

export const RagFilter = z.strictObject({
  collections: z.array(RagCollection).min(1).max(3).optional(),
  tags: z.array(Tag).min(1).max(16).optional(),
  nodeIds: z.array(NodeId).min(1).max(16).optional(),
  documentIds: z.array(z.string().max(128)).min(1).max(64).optional(),
  decisionId: z.uuid().optional(),
});
export type RagFilter = z.infer<typeof RagFilter>;

export const RagQuery = z.strictObject({
  query: z.string().trim().min(1).max(ragLimits.queryChars),
  k: z.number().int().min(1).max(ragLimits.maxK).default(5),
  filter: RagFilter.optional(),
  mode: RagMode.default("hybrid"),
  /** HNSW's search breadth; default max(64, 4k). */
  efSearch: z.number().int().min(1).max(1000).optional(),
});
export type RagQuery = z.input<typeof RagQuery>;

export const RagHit = z.object({
  chunkId: z.string(),
  documentId: z.string(),
  collection: RagCollection,
  title: z.string(),
  source: z.string().optional(),
  text: z.string(),
  /** FTS5's snippet around the matched terms (lexical hits), else the chunk's opening. */
  snippet: z.string(),
  /** Reciprocal rank fusion score (hybrid) or the single retriever's score. */
  score: z.number(),
  vector: z.object({ rank: z.number().int().positive(), similarity: z.number() }).optional(),
  lexical: z.object({ rank: z.number().int().positive(), bm25: z.number() }).optional(),
});
export type RagHit = z.infer<typeof RagHit>;

export const RagAnswer = z.object({
  /** The mode that ran: `lexical` when vector search was asked for but no embedder is configured. */
  mode: RagMode,
  requestedMode: RagMode,
  note: z.string().optional(),
  hits: z.array(RagHit),
  tookMs: z.number(),
});
export type RagAnswer = z.infer<typeof RagAnswer>;

/** The control plane asks an embedder (the local Node service) for vectors. */
export const EmbedRequest = z.strictObject({
  texts: z.array(z.string().min(1).max(ragLimits.embedTextChars)).min(1).max(ragLimits.embedBatch),
});
export type EmbedRequest = z.infer<typeof EmbedRequest>;

/** Vectors as base64 of little-endian float32, `dimensions` each, in the order of the texts. */
export const EmbedResponse = z.object({
  model: z.string(),
  dimensions: z.literal(RAG_DIMENSIONS),
  vectors: z.array(z.string()),
});
export type EmbedResponse = z.infer<typeof EmbedResponse>;

/** A vector as base64 of its little-endian float32 bytes (EmbedResponse.vectors). */
export function encodeVector(vector: Float32Array): string {
  const bytes = new Uint8Array(vector.length * 4);
  const view = new DataView(bytes.buffer);
  vector.forEach((value, i) => {
    view.setFloat32(i * 4, value, true);
  });
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The inverse of encodeVector; throws on a length that is not `dimensions` float32s. */
export function decodeVector(base64: string, dimensions: number = RAG_DIMENSIONS): Float32Array {
  const binary = atob(base64);
  if (binary.length !== dimensions * 4)
    throw new Error(`vector has ${String(binary.length)} bytes, expected ${String(dimensions * 4)}`);
  const view = new DataView(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) view.setUint8(i, binary.charCodeAt(i));
  return Float32Array.from({ length: dimensions }, (_, i) => view.getFloat32(i * 4, true));
}

export const RagDocumentList = z.object({ documents: z.array(RagDocument) });
export const RagDocumentListQuery = z.strictObject({
  collection: RagCollection.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const RagDocumentPath = z.object({ id: z.string().regex(/^[a-zA-Z0-9_.:-]{1,128}$/) });

/**
 * What RAG found for a decision when Plan recorded it: ids and scores an operator can open, not
 * whole texts. `skipped` says why there are none when the search did not run or ran out of time.
 */
export const RagEvidence = z.object({
  matches: z.array(
    z.object({
      documentId: z.string(),
      chunkId: z.string(),
      collection: RagCollection,
      title: z.string(),
      score: z.number(),
    }),
  ),
  tookMs: z.number(),
  skipped: z.string().optional(),
});
export type RagEvidence = z.infer<typeof RagEvidence>;

/** The query as URL parameters (GET …/rag/query), for reads that cannot send a body, such as the dashboard's. */
export const RagQueryParams = z.strictObject({
  query: z.string().trim().min(1).max(ragLimits.queryChars),
  k: z.coerce.number().int().min(1).max(ragLimits.maxK).default(5),
  mode: RagMode.default("hybrid"),
  collections: z
    .string()
    .transform((list) => list.split(","))
    .pipe(z.array(RagCollection).min(1).max(3))
    .optional(),
});

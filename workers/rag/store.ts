import { and, asc, eq, gt, inArray, isNotNull, lt, lte, or, sql } from "drizzle-orm";
import type { RagCollection, RagDocument, RagFilter } from "../../protocol/index.js";
import type { Database } from "../db/client.js";
import { ragChunks, ragDocuments } from "../db/schema.js";

export type DocumentRow = typeof ragDocuments.$inferSelect;
export type ChunkRow = typeof ragChunks.$inferSelect;

const strings = (json: string): string[] => JSON.parse(json) as string[];

export function documentView(row: DocumentRow): RagDocument {
  return {
    id: row.id,
    collection: row.collection,
    title: row.title,
    tags: strings(row.tags),
    nodeIds: strings(row.nodeIds),
    contentType: row.contentType,
    state: row.state,
    chunks: row.chunks,
    embeddedChunks: row.embeddedChunks,
    unchangedChunks: row.unchangedChunks,
    updatedAt: row.updatedAt,
    ...(row.source === null ? {} : { source: row.source }),
    ...(row.decisionId === null ? {} : { decisionId: row.decisionId }),
    ...(row.indexedFor === null ? {} : { indexedFor: row.indexedFor }),
    ...(row.error === null ? {} : { error: row.error }),
  };
}

export const getDocument = (db: Database, id: string) =>
  db.select().from(ragDocuments).where(eq(ragDocuments.id, id)).get();

export const listDocuments = (db: Database, collection: RagCollection | undefined, limit: number) =>
  db
    .select()
    .from(ragDocuments)
    .where(collection ? eq(ragDocuments.collection, collection) : undefined)
    .orderBy(asc(ragDocuments.id))
    .limit(limit)
    .all();

/** Documents whose indexing stopped half-way (the isolate went away): older than `before`, not done. */
export const stalledDocuments = (db: Database, before: number) =>
  db
    .select({ id: ragDocuments.id })
    .from(ragDocuments)
    .where(and(inArray(ragDocuments.state, ["pending", "indexing"]), lte(ragDocuments.updatedAt, before)))
    .limit(20)
    .all();

/** Chunks that searches see for a document: added at or before its live generation, not yet removed. */
const visible = and(
  lte(ragChunks.addedGen, ragDocuments.liveGen),
  or(sql`${ragChunks.removedGen} IS NULL`, gt(ragChunks.removedGen, ragDocuments.liveGen)),
);

export const liveChunksOf = (db: Database, documentId: string) =>
  db
    .select({ id: ragChunks.id, shard: ragChunks.shard })
    .from(ragChunks)
    .innerJoin(ragDocuments, eq(ragDocuments.id, ragChunks.documentId))
    .where(and(eq(ragChunks.documentId, documentId), visible))
    .all();

export const allChunksOf = (db: Database, documentId: string) =>
  db.select().from(ragChunks).where(eq(ragChunks.documentId, documentId)).all();

/** Chunks by id that are visible now, with their document's title and source. */
export const visibleChunks = (db: Database, ids: readonly string[]) =>
  ids.length === 0
    ? Promise.resolve([])
    : db
        .select({
          id: ragChunks.id,
          documentId: ragChunks.documentId,
          collection: ragChunks.collection,
          text: ragChunks.text,
          title: ragDocuments.title,
          source: ragDocuments.source,
        })
        .from(ragChunks)
        .innerJoin(ragDocuments, eq(ragDocuments.id, ragChunks.documentId))
        .where(and(inArray(ragChunks.id, [...ids]), visible))
        .all();

export interface LexicalHit {
  chunkId: string;
  bm25: number;
  snippet: string;
}

const SNIPPET_TOKENS = 16;

/** The SQL of a filter on rag_documents `d` and its bindings (values only; never user text as SQL). */
function filterSql(filter: RagFilter | undefined): { where: string; binds: (string | number)[] } {
  const parts: string[] = [];
  const binds: (string | number)[] = [];
  // Numbered after the query's own two (?1 the match, ?2 the limit).
  const list = (values: readonly string[]) => {
    const first = binds.length + 3;
    binds.push(...values);
    return values.map((_, i) => `?${String(first + i)}`).join(",");
  };
  if (filter?.collections) parts.push(`d.collection IN (${list(filter.collections)})`);
  if (filter?.documentIds) parts.push(`d.id IN (${list(filter.documentIds)})`);
  if (filter?.tags) parts.push(`EXISTS (SELECT 1 FROM json_each(d.tags) WHERE value IN (${list(filter.tags)}))`);
  if (filter?.nodeIds)
    parts.push(`EXISTS (SELECT 1 FROM json_each(d.node_ids) WHERE value IN (${list(filter.nodeIds)}))`);
  if (filter?.decisionId) parts.push(`d.decision_id IN (${list([filter.decisionId])})`);
  return { where: parts.map((p) => ` AND ${p}`).join(""), binds };
}

/**
 * BM25 over the visible chunks (lower is better in FTS5; the rank order is what counts). The
 * snippet is made for the returned rows only: made in the ranking query, it would be made for
 * every matching row before the sort.
 */
export async function lexicalSearch(
  d1: D1Database,
  match: string,
  limit: number,
  filter: RagFilter | undefined,
): Promise<LexicalHit[]> {
  const { where, binds } = filterSql(filter);
  const { results } = await d1
    .prepare(
      `WITH top AS (
         SELECT f.rowid AS rid, bm25(rag_chunks_fts) AS score
           FROM rag_chunks_fts f
           JOIN rag_chunks c ON c.id = f.chunk_id
           JOIN rag_documents d ON d.id = c.document_id
          WHERE rag_chunks_fts MATCH ?1
            AND c.added_gen <= d.live_gen AND (c.removed_gen IS NULL OR c.removed_gen > d.live_gen)${where}
          ORDER BY score LIMIT ?2)
       SELECT f.chunk_id AS chunkId, top.score AS bm25,
              snippet(rag_chunks_fts, 0, '**', '**', '…', ${String(SNIPPET_TOKENS)}) AS snippet
         FROM rag_chunks_fts f JOIN top ON f.rowid = top.rid
        WHERE rag_chunks_fts MATCH ?1
        ORDER BY top.score`,
    )
    .bind(match, limit, ...binds)
    .all<LexicalHit>();
  return results;
}

export type NewChunk = Omit<typeof ragChunks.$inferInsert, "removedGen">;

/** Statements that write new chunks with their FTS rows (run in the caller's batch). */
export function insertChunkStatements(d1: D1Database, rows: readonly NewChunk[]): D1PreparedStatement[] {
  return rows.flatMap((row) => [
    d1
      .prepare(
        `INSERT INTO rag_chunks (id, document_id, collection, ordinal, text, tokens, added_gen, shard)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      )
      .bind(row.id, row.documentId, row.collection, row.ordinal, row.text, row.tokens, row.addedGen, row.shard ?? null),
    d1.prepare("INSERT INTO rag_chunks_fts (text, chunk_id) VALUES (?, ?)").bind(row.text, row.id),
  ]);
}

/** Statements that delete chunks and their FTS rows. */
export function deleteChunkStatements(d1: D1Database, ids: readonly string[]): D1PreparedStatement[] {
  return ids.flatMap((id) => [
    d1.prepare("DELETE FROM rag_chunks WHERE id = ?").bind(id),
    d1.prepare("DELETE FROM rag_chunks_fts WHERE chunk_id = ?").bind(id),
  ]);
}

/**
 * Chunks no search can see again: removed at or before the live generation, or added by an
 * abandoned generation (past the live one, before the pending one: a newer upload's are kept).
 */
export const retiredChunks = (db: Database, documentId: string, liveGen: number, pendingGen: number | null) =>
  db
    .select({ id: ragChunks.id, shard: ragChunks.shard })
    .from(ragChunks)
    .where(
      and(
        eq(ragChunks.documentId, documentId),
        or(
          and(isNotNull(ragChunks.removedGen), lte(ragChunks.removedGen, liveGen)),
          and(gt(ragChunks.addedGen, liveGen), pendingGen === null ? undefined : lt(ragChunks.addedGen, pendingGen)),
        ),
      ),
    )
    .all();

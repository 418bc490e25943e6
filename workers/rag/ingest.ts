import { ragLimits, type RagCollection, type RagContentType } from "../../protocol/index.js";
import type { Database } from "../db/client.js";
import { sha256Hex } from "../lib/digest.js";
import { chunkText } from "./chunk.js";
import type { Embedder } from "./embed.js";
import {
  allChunksOf,
  deleteChunkStatements,
  getDocument,
  insertChunkStatements,
  retiredChunks,
  stalledDocuments,
  type ChunkRow,
  type DocumentRow,
  type NewChunk,
} from "./store.js";
import type { VectorStore } from "./vector/types.js";
import { estimatingTokenizer } from "./wordpiece.js";

/** What ingestion and queries run on; `vectors` and `embedder` are absent in lexical-only setups. */
export interface RagDeps {
  db: Database;
  d1: D1Database;
  vectors: VectorStore | undefined;
  embedder: Embedder | undefined;
  now: () => number;
}

/** What embedding a chunk needs. */
type ChunkText = Pick<ChunkRow, "id" | "text">;

export interface NewDocument {
  collection: RagCollection;
  id?: string | undefined;
  title: string;
  source?: string | undefined;
  tags: string[];
  nodeIds: string[];
  decisionId?: string | undefined;
  contentType: RagContentType;
  text: string;
}

/** Chunks embedded per round trip to the embedder and the index (progress is written after each). */
const EMBED_ROUND = 32;

export const documentIdFor = async (doc: NewDocument) =>
  doc.id ?? `${doc.collection}:${(await sha256Hex(`${doc.collection}\n${doc.source ?? doc.title}`)).slice(0, 24)}`;

const sameMetadata = (row: DocumentRow, doc: NewDocument) =>
  row.title === doc.title &&
  row.source === (doc.source ?? null) &&
  row.tags === JSON.stringify(doc.tags) &&
  row.nodeIds === JSON.stringify(doc.nodeIds) &&
  row.decisionId === (doc.decisionId ?? null) &&
  row.collection === doc.collection;

/**
 * Stores a document (its text is durable before anything answers) and opens a new generation
 * for it; `indexDocument` makes that generation searchable. An unchanged re-upload of a ready
 * document is a no-op: `changed` is false.
 */
export async function acceptDocument(deps: RagDeps, doc: NewDocument): Promise<{ row: DocumentRow; changed: boolean }> {
  const id = await documentIdFor(doc);
  const bodySha256 = await sha256Hex(doc.text);
  const existing = await getDocument(deps.db, id);
  if (existing && existing.state === "ready" && existing.bodySha256 === bodySha256 && sameMetadata(existing, doc))
    return { row: existing, changed: false };
  const generation = Math.max(existing?.liveGen ?? 0, existing?.pendingGen ?? 0) + 1;
  const now = deps.now();
  const fields = {
    collection: doc.collection,
    title: doc.title,
    source: doc.source ?? null,
    tags: JSON.stringify(doc.tags),
    nodeIds: JSON.stringify(doc.nodeIds),
    decisionId: doc.decisionId ?? null,
    contentType: doc.contentType,
    body: doc.text,
    bodySha256,
  };
  await deps.d1
    .prepare(
      `INSERT INTO rag_documents (id, collection, title, source, tags, node_ids, decision_id, content_type, body,
         body_sha256, state, live_gen, pending_gen, chunks, embedded_chunks, unchanged_chunks, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, 0, 0, 0, ?, ?)
       ON CONFLICT (id) DO UPDATE SET collection = excluded.collection, title = excluded.title, source = excluded.source,
         tags = excluded.tags, node_ids = excluded.node_ids, decision_id = excluded.decision_id,
         content_type = excluded.content_type, body = excluded.body, body_sha256 = excluded.body_sha256,
         state = 'pending', pending_gen = excluded.pending_gen, chunks = 0, embedded_chunks = 0, unchanged_chunks = 0,
         error = NULL, updated_at = excluded.updated_at`,
    )
    .bind(
      id,
      fields.collection,
      fields.title,
      fields.source,
      fields.tags,
      fields.nodeIds,
      fields.decisionId,
      fields.contentType,
      fields.body,
      fields.bodySha256,
      generation,
      now,
      now,
    )
    .run();
  const row = await getDocument(deps.db, id);
  if (!row) throw new Error(`document ${id} vanished after it was written`);
  return { row, changed: true };
}

/** Ids are content hashes: the same text at the same occurrence keeps its id across versions. */
async function chunkIds(documentId: string, texts: readonly string[]): Promise<string[]> {
  const seen = new Map<string, number>();
  return Promise.all(
    texts.map((text) => {
      const occurrence = seen.get(text) ?? 0;
      seen.set(text, occurrence + 1);
      return sha256Hex(`${documentId}\n${String(occurrence)}\n${text}`).then((hex) => hex.slice(0, 32));
    }),
  );
}

const isVisible = (chunk: ChunkRow, liveGen: number) =>
  chunk.addedGen <= liveGen && (chunk.removedGen === null || chunk.removedGen > liveGen);

class Superseded extends Error {}

/**
 * Chunks, embeds and indexes the document's pending generation, then makes it searchable in one
 * statement (the live generation moves); the previous version's retired chunks go after that.
 * A newer upload that arrives meanwhile supersedes this run, which then stops.
 */
export async function indexDocument(deps: RagDeps, documentId: string): Promise<void> {
  const row = await getDocument(deps.db, documentId);
  const generation = row?.pendingGen;
  if (!row || generation === null || generation === undefined) return;
  try {
    await buildGeneration(deps, row, generation);
  } catch (error) {
    if (error instanceof Superseded) return;
    await abandonGeneration(deps, row, generation, (error as Error).message);
    throw error;
  }
  await retire(deps, row.collection, row.id, generation);
}

async function buildGeneration(deps: RagDeps, row: DocumentRow, generation: number): Promise<void> {
  const { d1 } = deps;
  const tokenizer = deps.embedder ? await deps.embedder.tokenizer() : estimatingTokenizer;
  const chunks = chunkText(row.body, tokenizer, {
    maxTokens: ragLimits.chunkTokens,
    overlapTokens: ragLimits.chunkOverlapTokens,
  });
  const ids = await chunkIds(
    row.id,
    chunks.map((c) => c.text),
  );
  const existing = new Map((await allChunksOf(deps.db, row.id)).map((c) => [c.id, c]));
  const wanted = new Set(ids);
  const statements: D1PreparedStatement[] = [];
  const fresh: NewChunk[] = [];
  // Chunks without a vector: the new ones, and kept ones whose earlier embedding never finished.
  const toEmbed = new Map<string, ChunkText>();
  let unchanged = 0;
  chunks.forEach((chunk, i) => {
    const id = ids[i] ?? "";
    const old = existing.get(id);
    if (!old || old.shard === null) toEmbed.set(id, { id, text: chunk.text });
    if (!old) {
      fresh.push({
        id,
        documentId: row.id,
        collection: row.collection,
        ordinal: chunk.ordinal,
        text: chunk.text,
        tokens: chunk.tokens,
        addedGen: generation,
      });
      return;
    }
    if (isVisible(old, row.liveGen)) unchanged++;
    // Kept, or revived from an abandoned or retired version: visible from this generation on.
    const addedGen = isVisible(old, row.liveGen) ? old.addedGen : generation;
    statements.push(
      d1
        .prepare("UPDATE rag_chunks SET added_gen = ?, removed_gen = NULL, ordinal = ? WHERE id = ?")
        .bind(addedGen, chunk.ordinal, id),
    );
  });
  for (const old of existing.values())
    if (!wanted.has(old.id) && isVisible(old, row.liveGen))
      statements.push(d1.prepare("UPDATE rag_chunks SET removed_gen = ? WHERE id = ?").bind(generation, old.id));
  statements.push(...insertChunkStatements(d1, fresh));
  statements.push(
    d1
      .prepare(
        "UPDATE rag_documents SET state = 'indexing', chunks = ?, unchanged_chunks = ?, tokenizer = ?, updated_at = ? WHERE id = ? AND pending_gen = ?",
      )
      .bind(chunks.length, unchanged, tokenizer.name, deps.now(), row.id, generation),
  );
  await d1.batch(statements);
  await assertCurrent(deps, row.id, generation);
  await embedAll(deps, row, generation, [...toEmbed.values()]);
  const flipped = await d1
    .prepare(
      "UPDATE rag_documents SET live_gen = ?, pending_gen = NULL, state = 'ready', indexed_for = ?, updated_at = ? WHERE id = ? AND pending_gen = ?",
    )
    .bind(generation, deps.embedder && deps.vectors ? "hybrid" : "lexical", deps.now(), row.id, generation)
    .run();
  if (flipped.meta.changes === 0) throw new Superseded();
}

async function assertCurrent(deps: RagDeps, documentId: string, generation: number): Promise<void> {
  const now = await getDocument(deps.db, documentId);
  if (now?.pendingGen !== generation) throw new Superseded();
}

async function embedAll(deps: RagDeps, row: DocumentRow, generation: number, chunks: readonly ChunkText[]) {
  const { embedder, vectors, d1 } = deps;
  if (!embedder || !vectors) return;
  const meta = { tags: JSON.parse(row.tags) as string[], nodeIds: JSON.parse(row.nodeIds) as string[] };
  for (let i = 0; i < chunks.length; i += EMBED_ROUND) {
    const round = chunks.slice(i, i + EMBED_ROUND);
    const embedded = await embedder.embed(round.map((c) => c.text));
    const placements = await vectors.upsert(
      row.collection,
      round.map((c, j) => ({
        chunkId: c.id,
        documentId: row.id,
        vector: embedded[j] ?? new Float32Array(0),
        ...meta,
        ...(row.decisionId === null ? {} : { decisionId: row.decisionId }),
      })),
    );
    await d1.batch([
      ...placements.map((p) => d1.prepare("UPDATE rag_chunks SET shard = ? WHERE id = ?").bind(p.shard, p.chunkId)),
      d1
        .prepare(
          "UPDATE rag_documents SET embedded_chunks = embedded_chunks + ?, updated_at = ? WHERE id = ? AND pending_gen = ?",
        )
        .bind(round.length, deps.now(), row.id, generation),
    ]);
    await assertCurrent(deps, row.id, generation);
  }
}

/** A failed run: the live version stays as it was; this generation's additions and removals are undone. */
async function abandonGeneration(deps: RagDeps, row: DocumentRow, generation: number, reason: string) {
  const documentId = row.id;
  await deps.d1.batch([
    deps.d1
      .prepare("UPDATE rag_chunks SET removed_gen = NULL WHERE document_id = ? AND removed_gen = ?")
      .bind(documentId, generation),
    deps.d1
      .prepare(
        "UPDATE rag_documents SET state = 'failed', error = ?, pending_gen = NULL, updated_at = ? WHERE id = ? AND pending_gen = ?",
      )
      .bind(reason.slice(0, 500), deps.now(), documentId, generation),
  ]);
  const doc = await getDocument(deps.db, documentId);
  if (doc && doc.pendingGen === null) await retire(deps, row.collection, documentId, doc.liveGen);
}

/** Deletes chunks no search can see any more: their rows first, then their vectors. */
async function retire(deps: RagDeps, collection: RagCollection, documentId: string, liveGen: number): Promise<void> {
  // A newer upload may have opened its generation meanwhile: its chunks are not this one's to retire.
  const pendingGen = (await getDocument(deps.db, documentId))?.pendingGen ?? null;
  const retired = await retiredChunks(deps.db, documentId, liveGen, pendingGen);
  if (retired.length === 0) return;
  await deps.d1.batch(
    deleteChunkStatements(
      deps.d1,
      retired.map((c) => c.id),
    ),
  );
  await removeVectors(deps, collection, retired);
}

async function removeVectors(
  deps: RagDeps,
  collection: RagCollection,
  chunks: readonly { id: string; shard: number | null }[],
) {
  const placements = chunks.flatMap((c) => (c.shard === null ? [] : [{ chunkId: c.id, shard: c.shard }]));
  if (placements.length > 0 && deps.vectors) await deps.vectors.remove(collection, placements);
}

/** Deletes a document, its chunks and their vectors; false when there was none. */
export async function deleteDocument(deps: RagDeps, documentId: string): Promise<boolean> {
  const row = await getDocument(deps.db, documentId);
  if (!row) return false;
  const chunks = await allChunksOf(deps.db, documentId);
  await deps.d1.batch([
    ...deleteChunkStatements(
      deps.d1,
      chunks.map((c) => c.id),
    ),
    deps.d1.prepare("DELETE FROM rag_documents WHERE id = ?").bind(documentId),
  ]);
  await removeVectors(deps, row.collection, chunks);
  return true;
}

/** A document not finished after this long was left by an isolate that went away. */
export const STALLED_AFTER_MS = 5 * 60_000;

/**
 * The cron trigger's part: documents stalled in `pending` or `indexing` are indexed again (a run
 * is idempotent: stored chunks and vectors are kept). Returns how many were resumed.
 */
export async function resumeStalledDocuments(deps: RagDeps): Promise<number> {
  const stalled = await stalledDocuments(deps.db, deps.now() - STALLED_AFTER_MS);
  for (const { id } of stalled) await indexDocument(deps, id).catch(() => undefined); // failed: said in its row
  return stalled.length;
}

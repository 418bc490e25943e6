import { RagCollection, type RagAnswer, type RagHit, type RagMode, type RagQuery } from "../../protocol/index.js";
import type { Span } from "../tracing/span.js";
import type { Tracer } from "../tracing/tracer.js";
import { reciprocalRankFusion, type Ranked } from "./fuse.js";
import type { RagDeps } from "./ingest.js";
import { ftsQuery } from "./lexical.js";
import { lexicalSearch, visibleChunks, type LexicalHit } from "./store.js";
import type { VectorMatch } from "./vector/types.js";

export type ParsedQuery = Required<Pick<RagQuery, "query" | "k" | "mode">> & Pick<RagQuery, "filter" | "efSearch">;

/** Each retriever returns this many candidates per wanted hit before fusion. */
const CANDIDATES_PER_HIT = 4;
const MIN_CANDIDATES = 20;
/** D1 binds at most 100 parameters per statement. */
const IDS_PER_LOOKUP = 90;
const SNIPPET_CHARS = 240;

export interface QueryTracing {
  tracer: Tracer;
  parent: Span;
}

async function traced<T>(tracing: QueryTracing | undefined, name: string, run: () => Promise<T>): Promise<T> {
  const span = tracing?.tracer.startSpan(name, { parent: tracing.parent.context });
  try {
    const result = await run();
    span?.end();
    return result;
  } catch (error) {
    span?.end((error as Error).message);
    throw error;
  }
}

function effectiveMode(deps: RagDeps, requested: RagMode): { mode: RagMode; note?: string } {
  if (requested === "lexical" || (deps.embedder && deps.vectors)) return { mode: requested };
  return { mode: "lexical", note: "no embedder is configured: lexical (BM25) retrieval only" };
}

async function vectorRanks(deps: RagDeps, q: ParsedQuery, candidates: number, tracing?: QueryTracing) {
  const { embedder, vectors } = deps;
  if (!embedder || !vectors) return [];
  const [query] = await traced(tracing, "rag.embed", () => embedder.embed([q.query]));
  if (!query) return [];
  const { collections, ...filter } = q.filter ?? {};
  const hasFilter = Object.keys(filter).length > 0;
  const matches = await traced(tracing, "rag.vector_search", () =>
    vectors.search(collections ?? RagCollection.options, query, {
      k: candidates,
      ef: q.efSearch ?? Math.max(64, candidates),
      ...(hasFilter ? { filter } : {}),
    }),
  );
  return matches;
}

async function lexicalRanks(deps: RagDeps, q: ParsedQuery, candidates: number, tracing?: QueryTracing) {
  const match = ftsQuery(q.query);
  if (match === undefined) return [];
  return traced(tracing, "rag.lexical_search", () => lexicalSearch(deps.d1, match, candidates, q.filter));
}

async function loadChunks(deps: RagDeps, ids: readonly string[]) {
  const rows = [];
  for (let i = 0; i < ids.length; i += IDS_PER_LOOKUP)
    rows.push(...(await visibleChunks(deps.db, ids.slice(i, i + IDS_PER_LOOKUP))));
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * Hybrid retrieval: vector (HNSW over the embedder's vectors) and lexical (FTS5 BM25) candidates
 * fused by reciprocal rank; either alone by `mode`. Only chunks of a document's live version are
 * returned, whatever an index still holds.
 */
export async function answerQuery(deps: RagDeps, q: ParsedQuery, tracing?: QueryTracing): Promise<RagAnswer> {
  const started = deps.now();
  const { mode, note } = effectiveMode(deps, q.mode);
  const candidates = Math.max(MIN_CANDIDATES, q.k * CANDIDATES_PER_HIT);
  const [vector, lexical] = await Promise.all([
    mode === "lexical" ? Promise.resolve<VectorMatch[]>([]) : vectorRanks(deps, q, candidates, tracing),
    mode === "vector" ? Promise.resolve<LexicalHit[]>([]) : lexicalRanks(deps, q, candidates, tracing),
  ]);
  const chunks = await loadChunks(deps, [
    ...new Set([...vector.map((v) => v.chunkId), ...lexical.map((l) => l.chunkId)]),
  ]);
  // Ranks count only chunks still visible, so a stale index entry does not push others down.
  const rank = <T extends { chunkId: string }>(list: readonly T[]) =>
    list
      .filter((item) => chunks.has(item.chunkId))
      .map((item, i): Ranked & { item: T } => ({ id: item.chunkId, rank: i + 1, item }));
  const vectorRanked = rank(vector);
  const lexicalRanked = rank(lexical);
  const fused = await traced(tracing, "rag.fusion", () =>
    Promise.resolve(reciprocalRankFusion([vectorRanked, lexicalRanked])),
  );
  const byVector = new Map(vectorRanked.map((r) => [r.id, r]));
  const byLexical = new Map(lexicalRanked.map((r) => [r.id, r]));
  const hits = fused.slice(0, q.k).flatMap((f): RagHit[] => {
    const chunk = chunks.get(f.id);
    if (!chunk) return [];
    const v = byVector.get(f.id);
    const l = byLexical.get(f.id);
    const single = mode === "vector" ? v?.item.similarity : mode === "lexical" ? l && -l.item.bm25 : undefined;
    return [
      {
        chunkId: chunk.id,
        documentId: chunk.documentId,
        collection: chunk.collection,
        title: chunk.title,
        ...(chunk.source === null ? {} : { source: chunk.source }),
        text: chunk.text,
        snippet: l?.item.snippet ?? chunk.text.slice(0, SNIPPET_CHARS),
        score: single ?? f.score,
        ...(v ? { vector: { rank: v.rank, similarity: v.item.similarity } } : {}),
        ...(l ? { lexical: { rank: l.rank, bm25: l.item.bm25 } } : {}),
      },
    ];
  });
  return { mode, requestedMode: q.mode, ...(note ? { note } : {}), hits, tookMs: deps.now() - started };
}

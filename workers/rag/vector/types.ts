import type { RagCollection } from "../../../protocol/index.js";

/** A chunk's vector with the document metadata a query may filter on. */
export interface VectorItem {
  chunkId: string;
  documentId: string;
  vector: Float32Array;
  tags: string[];
  nodeIds: string[];
  decisionId?: string;
}

/** Filters inside one collection; each present field must match (any of its values). */
export interface ShardFilter {
  documentIds?: string[];
  tags?: string[];
  nodeIds?: string[];
  decisionId?: string;
}

export interface VectorMatch {
  chunkId: string;
  /** Exact inner product of the normalized vectors (cosine similarity). */
  similarity: number;
}

export interface ShardStats {
  vectors: number;
  tombstones: number;
  memoryBytes: number;
}

/** Where a chunk's vector was put, so that it can be removed from there. */
export interface Placement {
  chunkId: string;
  shard: number;
}

/**
 * The vector index the RAG routes use: Durable Object shards here and in small deployments, a
 * Cloudflare Vectorize index for large ones.
 */
export interface VectorStore {
  upsert(collection: RagCollection, items: readonly VectorItem[]): Promise<Placement[]>;
  remove(collection: RagCollection, placements: readonly Placement[]): Promise<void>;
  search(
    collections: readonly RagCollection[],
    query: Float32Array,
    options: { k: number; ef: number; filter?: ShardFilter },
  ): Promise<VectorMatch[]>;
}

import type { RagCollection } from "../../../protocol/index.js";
import type { ShardFilter, VectorStore } from "./types.js";

/** The part of a Vectorize (v2) index binding the store uses. */
export type VectorizeLike = Pick<Vectorize, "query" | "upsert" | "deleteByIds">;

/** Vectorize returns at most this many matches with their metadata. */
const MAX_TOP_K_WITH_METADATA = 50;

interface ChunkMetadata extends Record<string, string> {
  documentId: string;
  /** Comma-joined: Vectorize cannot filter on arrays, so tags and nodes are matched after the query. */
  tags: string;
  nodeIds: string;
  decisionId: string;
}

/** Filters Vectorize can apply itself (indexed scalar fields); the rest is applied to what it returns. */
function nativeFilter(filter: ShardFilter | undefined): VectorizeVectorMetadataFilter | undefined {
  const native: VectorizeVectorMetadataFilter = {};
  if (filter?.documentIds) native.documentId = { $in: filter.documentIds };
  if (filter?.decisionId) native.decisionId = { $eq: filter.decisionId };
  return Object.keys(native).length > 0 ? native : undefined;
}

function matchesRest(metadata: Partial<ChunkMetadata>, filter: ShardFilter | undefined): boolean {
  const has = (joined: string | undefined, wanted: string[] | undefined) =>
    wanted === undefined || wanted.some((w) => (joined ?? "").split(",").includes(w));
  return has(metadata.tags, filter?.tags) && has(metadata.nodeIds, filter?.nodeIds);
}

/**
 * The vector index on Cloudflare Vectorize, for deployments past what Durable Object shards
 * hold: a namespace per collection, chunk ids as vector ids. It cannot run locally (Miniflare
 * has no Vectorize); tests drive it through a stand-in of the binding's interface. Tag and node
 * filters are applied to the returned matches, so a very selective one can return fewer than k.
 */
export function vectorizeStore(index: VectorizeLike): VectorStore {
  return {
    async upsert(collection, items) {
      if (items.length === 0) return [];
      await index.upsert(
        items.map((item) => ({
          id: item.chunkId,
          values: Array.from(item.vector),
          namespace: collection,
          metadata: {
            documentId: item.documentId,
            tags: item.tags.join(","),
            nodeIds: item.nodeIds.join(","),
            decisionId: item.decisionId ?? "",
          } satisfies ChunkMetadata,
        })),
      );
      return items.map((item) => ({ chunkId: item.chunkId, shard: 0 }));
    },

    async remove(_collection: RagCollection, placements) {
      if (placements.length > 0) await index.deleteByIds(placements.map((p) => p.chunkId));
    },

    async search(collections, query, options) {
      const filter = nativeFilter(options.filter);
      const answers = await Promise.all(
        collections.map((namespace) =>
          index.query(Array.from(query), {
            topK: Math.min(MAX_TOP_K_WITH_METADATA, options.k),
            namespace,
            returnMetadata: "all",
            ...(filter ? { filter } : {}),
          }),
        ),
      );
      return answers
        .flatMap((a) => a.matches)
        .filter((m) => matchesRest((m.metadata ?? {}) as Partial<ChunkMetadata>, options.filter))
        .map((m) => ({ chunkId: m.id, similarity: m.score }))
        .sort((a, b) => b.similarity - a.similarity)
        .slice(0, options.k);
    },
  };
}

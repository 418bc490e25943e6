import { and, eq, inArray } from "drizzle-orm";
import type { RagCollection } from "../../../protocol/index.js";
import type { Database } from "../../db/client.js";
import { ragShards } from "../../db/schema.js";
import type { RagIndexShard } from "./shard.js";
import type { Placement, VectorMatch, VectorStore } from "./types.js";

/**
 * Vectors per shard. Measured (`npm run bench:rag`, 100,000 vectors): the graph holds about 0.7 KiB
 * per 384-wide vector in memory (codes, links), so 50,000 keep a shard near 35 MiB, well inside a
 * Durable Object's 128 MB with room for the isolate and re-ranking.
 */
export const SHARD_CAPACITY = 50_000;

const shardName = (collection: RagCollection, shard: number) => `${collection}/${String(shard)}`;

/** The vector index as Durable Object shards per collection of `capacity` vectors, their sizes kept in D1. */
export function durableObjectVectorStore(
  namespace: DurableObjectNamespace<RagIndexShard>,
  db: Database,
  capacity = SHARD_CAPACITY,
): VectorStore {
  const stub = (collection: RagCollection, shard: number) => namespace.getByName(shardName(collection, shard));
  const shardsOf = (collections: readonly RagCollection[]) =>
    db
      .select()
      .from(ragShards)
      .where(inArray(ragShards.collection, [...collections]))
      .all();
  const recordSize = (collection: RagCollection, shard: number, vectors: number) =>
    db
      .insert(ragShards)
      .values({ collection, shard, vectors })
      .onConflictDoUpdate({ target: [ragShards.collection, ragShards.shard], set: { vectors } })
      .run();

  return {
    async upsert(collection, items) {
      const placements: Placement[] = [];
      let rest = [...items];
      while (rest.length > 0) {
        const shards = await shardsOf([collection]);
        const open = shards.filter((s) => s.vectors < capacity).sort((a, b) => a.shard - b.shard)[0];
        const shard = open?.shard ?? shards.reduce((max, s) => Math.max(max, s.shard + 1), 0);
        const room = capacity - (open?.vectors ?? 0);
        const batch = rest.slice(0, room);
        rest = rest.slice(room);
        const { size } = await stub(collection, shard).upsert(batch);
        await recordSize(collection, shard, size);
        placements.push(...batch.map((item) => ({ chunkId: item.chunkId, shard })));
      }
      return placements;
    },

    async remove(collection, placements) {
      const byShard = new Map<number, Placement[]>();
      for (const p of placements) byShard.set(p.shard, [...(byShard.get(p.shard) ?? []), p]);
      for (const [shard, group] of byShard) {
        const { size } = await stub(collection, shard).remove(group.map((p) => p.chunkId));
        await db
          .update(ragShards)
          .set({ vectors: size })
          .where(and(eq(ragShards.collection, collection), eq(ragShards.shard, shard)))
          .run();
      }
    },

    async search(collections, query, options) {
      const shards = await shardsOf(collections);
      const answers = await Promise.all(
        shards.map((s) => stub(s.collection as RagCollection, s.shard).search(query, options)),
      );
      return answers
        .flat()
        .sort((a: VectorMatch, b: VectorMatch) => b.similarity - a.similarity)
        .slice(0, options.k);
    },
  };
}

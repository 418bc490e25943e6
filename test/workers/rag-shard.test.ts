import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../workers/db/client.js";
import { durableObjectVectorStore } from "../../workers/rag/vector/durable.js";
import { RagIndexShard } from "../../workers/rag/vector/shard.js";
import { lowRankVectors } from "../../bench/vectors.js";
import { prng } from "../../node-firmware/mesh/simulated/prng.js";

const vectors = lowRankVectors(600, 384, prng(3));
const queries = lowRankVectors(20, 384, prng(4));
const items = vectors.map((vector, i) => ({
  chunkId: `c${String(i)}`,
  documentId: `d${String(i % 30)}`,
  vector,
  tags: i % 2 === 0 ? ["even"] : [],
  nodeIds: [],
}));

describe("a vector index shard (Durable Object, SQLite storage)", () => {
  it("answers the same after it is restarted from its storage, deletes included", async () => {
    const stub = env.RAG_INDEX!.getByName("test-restart/0");
    expect(await stub.upsert(items)).toEqual({ inserted: 600, size: 600 });
    expect((await stub.upsert(items.slice(0, 10))).inserted).toBe(0); // same chunk ids: nothing new
    const removed = items.filter((_, i) => i % 3 === 0).map((it) => it.chunkId); // 200: past the repair share
    expect(await stub.remove(removed)).toEqual({ removed: 200, size: 400 });
    const before = await Promise.all(queries.map((q) => stub.search(q, { k: 10, ef: 64 })));
    const filtered = await stub.search(queries[0]!, { k: 10, ef: 64, filter: { tags: ["even"] } });
    for (const answer of before) for (const m of answer) expect(removed).not.toContain(m.chunkId);
    expect(filtered.every((m) => Number(m.chunkId.slice(1)) % 2 === 0)).toBe(true);
    // A new instance on the same storage: what an evicted shard does when it is next called.
    const after = await runInDurableObject(stub, (_instance, state) => {
      const restarted = new RagIndexShard(state, {});
      return {
        answers: queries.map((q) => restarted.search(q, { k: 10, ef: 64 })),
        stats: restarted.stats(),
        filtered: restarted.search(queries[0]!, { k: 10, ef: 64, filter: { tags: ["even"] } }),
      };
    });
    expect(after.answers).toEqual(before);
    expect(after.filtered).toEqual(filtered);
    expect(after.stats.vectors).toBe(400);
  });
});

describe("a collection split into shards", () => {
  it("opens the next shard when one is full, searches them all and removes from the right one", async () => {
    const store = durableObjectVectorStore(env.RAG_INDEX!, openDatabase(env.DB), 10);
    const placements = await store.upsert("incidents", items.slice(0, 25));
    expect(new Set(placements.map((p) => p.shard))).toEqual(new Set([0, 1, 2]));
    const { results } = await env.DB.prepare(
      "SELECT shard, vectors FROM rag_shards WHERE collection = 'incidents' ORDER BY shard",
    ).all();
    expect(results).toEqual([
      { shard: 0, vectors: 10 },
      { shard: 1, vectors: 10 },
      { shard: 2, vectors: 5 },
    ]);
    // Each item's own vector is its nearest neighbour, whichever shard holds it.
    for (const i of [0, 12, 24])
      expect((await store.search(["incidents"], items[i]!.vector, { k: 1, ef: 32 }))[0]?.chunkId).toBe(`c${String(i)}`);
    await store.remove(
      "incidents",
      placements.filter((p) => p.chunkId === "c12"),
    );
    expect((await store.search(["incidents"], items[12]!.vector, { k: 1, ef: 32 }))[0]?.chunkId).not.toBe("c12");
    // The emptied room is filled before another shard opens.
    expect((await store.upsert("incidents", items.slice(25, 26)))[0]?.shard).toBe(1);
  });
});

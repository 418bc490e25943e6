import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { RagIndexShard } from "../../workers/rag/vector/shard.js";
import { lowRankVectors } from "../../bench/vectors.js";

const vectors = lowRankVectors(600, 384, 3);
const queries = lowRankVectors(20, 384, 4);
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

import { describe, expect, it } from "vitest";
import { vectorizeStore, type VectorizeLike } from "../../workers/rag/vector/vectorize.js";

type Stored = VectorizeVector & { namespace: string };

/**
 * A stand-in for a Vectorize binding (Miniflare has none): exact cosine search with namespaces,
 * `$eq`/`$in` metadata filters, and Vectorize's limits on topK with metadata and on array filters.
 */
function fakeVectorize(): VectorizeLike & { stored: Map<string, Stored> } {
  const stored = new Map<string, Stored>();
  const mutation = { mutationId: "m" };
  const passes = (metadata: Record<string, unknown>, filter: VectorizeVectorMetadataFilter | undefined) =>
    Object.entries(filter ?? {}).every(([field, condition]) => {
      const value = metadata[field];
      if (condition !== null && typeof condition === "object" && "$in" in condition)
        return (condition.$in as unknown[]).includes(value);
      if (condition !== null && typeof condition === "object" && "$eq" in condition) return condition.$eq === value;
      return condition === value;
    });
  return {
    stored,
    upsert: (vectors) => {
      for (const v of vectors) {
        if (Object.values(v.metadata ?? {}).some(Array.isArray)) throw new Error("arrays are not filterable");
        stored.set(v.id, { ...v, namespace: v.namespace ?? "" });
      }
      return Promise.resolve(mutation);
    },
    deleteByIds: (ids) => {
      for (const id of ids) stored.delete(id);
      return Promise.resolve(mutation);
    },
    query: (vector, options) => {
      if ((options?.topK ?? 5) > 50 && options?.returnMetadata === "all") throw new Error("topK past 50 with metadata");
      const q = Array.from(vector);
      const matches = [...stored.values()]
        .filter((v) => v.namespace === options?.namespace && passes(v.metadata ?? {}, options.filter))
        .map((v) => ({
          id: v.id,
          metadata: v.metadata,
          score: Array.from(v.values).reduce((s, x, i) => s + x * (q[i] ?? 0), 0),
        }))
        .sort((a, b) => b.score - a.score)
        .slice(0, options?.topK ?? 5);
      return Promise.resolve({ matches, count: matches.length });
    },
  };
}

const unit = (i: number) => Float32Array.from({ length: 384 }, (_, j) => (j === i ? 1 : 0));
const item = (id: string, i: number, extra: { tags?: string[]; nodeIds?: string[]; decisionId?: string } = {}) => ({
  chunkId: id,
  documentId: `doc-${id}`,
  vector: unit(i),
  tags: extra.tags ?? [],
  nodeIds: extra.nodeIds ?? [],
  ...(extra.decisionId ? { decisionId: extra.decisionId } : {}),
});

describe("the Vectorize vector store (through a stand-in of the binding)", () => {
  it("keeps collections apart, filters natively where it can and after the query where it cannot", async () => {
    const index = fakeVectorize();
    const store = vectorizeStore(index);
    await store.upsert("runbooks", [item("a", 0, { tags: ["pki"] }), item("b", 1, { nodeIds: ["n-1"] })]);
    await store.upsert("decisions", [item("c", 0, { decisionId: "00000000-0000-4000-8000-000000000001" })]);
    expect(index.stored.get("a")?.metadata).toEqual({ documentId: "doc-a", tags: "pki", nodeIds: "", decisionId: "" });
    const query = unit(0);
    expect((await store.search(["runbooks"], query, { k: 5, ef: 0 })).map((m) => m.chunkId)).toEqual(["a", "b"]);
    expect(
      (await store.search(["runbooks", "decisions"], query, { k: 2, ef: 0 })).map((m) => m.chunkId).sort(),
    ).toEqual(["a", "c"]);
    expect(
      (await store.search(["runbooks"], query, { k: 5, ef: 0, filter: { tags: ["pki"] } })).map((m) => m.chunkId),
    ).toEqual(["a"]);
    expect(
      (await store.search(["runbooks"], query, { k: 5, ef: 0, filter: { nodeIds: ["n-1"] } })).map((m) => m.chunkId),
    ).toEqual(["b"]);
    expect(
      (await store.search(["runbooks"], query, { k: 5, ef: 0, filter: { documentIds: ["doc-b"] } })).map(
        (m) => m.chunkId,
      ),
    ).toEqual(["b"]);
    const byDecision = await store.search(["decisions"], query, {
      k: 80,
      ef: 0,
      filter: { decisionId: "00000000-0000-4000-8000-000000000001" },
    });
    expect(byDecision).toEqual([{ chunkId: "c", similarity: 1 }]);
  });

  it("deletes by chunk id", async () => {
    const index = fakeVectorize();
    const store = vectorizeStore(index);
    const placements = await store.upsert("runbooks", [item("a", 0), item("b", 1)]);
    await store.remove("runbooks", placements.slice(0, 1));
    expect([...index.stored.keys()]).toEqual(["b"]);
  });
});

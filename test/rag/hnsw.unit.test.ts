import { describe, expect, it } from "vitest";
import { Hnsw } from "../../workers/rag/vector/hnsw.js";
import { dot } from "../../workers/rag/vector/quantize.js";
import { lowRankVectors } from "../../bench/vectors.js";
import { prng } from "../../node-firmware/mesh/simulated/prng.js";

const D = 384;
const OPTIONS = { dimensions: D, m: 16, efConstruction: 200 };
const data = lowRankVectors(3000, D, prng(7));
const queries = lowRankVectors(100, D, prng(8));

const exactTop = (q: Float32Array, k: number, live: (i: number) => boolean = () => true) =>
  data
    .map((v, i) => ({ i, s: dot(q, v) }))
    .filter((x) => live(x.i))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((x) => x.i);

/** Top k after re-ranking HNSW's candidates with the float vectors, as the shard does. */
const searchTop = (index: Hnsw, q: Float32Array, k: number, ef: number) =>
  index
    .search(q, ef)
    .slice(0, 40)
    .map((c) => ({ i: c.id, s: dot(q, data[c.id]!) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((x) => x.i);

function recall(index: Hnsw, ef: number, live?: (i: number) => boolean): number {
  let found = 0;
  for (const q of queries) {
    const truth = new Set(exactTop(q, 10, live));
    found += searchTop(index, q, 10, ef).filter((i) => truth.has(i)).length;
  }
  return found / (queries.length * 10);
}

const built = (() => {
  const index = new Hnsw(OPTIONS);
  data.forEach((v, i) => {
    expect(index.insert(v)).toBe(i);
  });
  return index;
})();

describe("HNSW over int8 codes", () => {
  it("finds the exact top 10 for at least 95 % of them at ef 100", () => {
    expect(recall(built, 100)).toBeGreaterThanOrEqual(0.95);
  });

  it("gets better with a larger ef", () => {
    expect(recall(built, 200)).toBeGreaterThanOrEqual(recall(built, 20));
  });

  it("never returns a deleted node, before and after repair, and keeps its recall", () => {
    const index = Hnsw.restore(
      OPTIONS,
      Array.from({ length: data.length }, (_, i) => built.node(i)),
    );
    const deleted = new Set(Array.from({ length: 600 }, (_, i) => i * 5));
    for (const id of deleted) expect(index.delete(id)).toBe(true);
    const live = (i: number) => !deleted.has(i);
    for (const q of queries) expect(index.search(q, 100).some((c) => deleted.has(c.id))).toBe(false);
    expect(index.repair()).toBe(600);
    expect(index.size).toBe(2400);
    for (const q of queries) expect(index.search(q, 100).some((c) => deleted.has(c.id))).toBe(false);
    expect(recall(index, 100, live)).toBeGreaterThanOrEqual(0.93);
    // Freed slots are reused by later inserts.
    expect(deleted.has(index.insert(data[0]!))).toBe(true);
  });

  it("answers the same after a restore from its stored nodes (a restarted shard)", () => {
    const restored = Hnsw.restore(
      OPTIONS,
      Array.from({ length: data.length }, (_, i) => built.node(i)),
    );
    for (const q of queries.slice(0, 20)) expect(restored.search(q, 50)).toEqual(built.search(q, 50));
  });

  it("applies a filter to what it returns, not to the walk", () => {
    const even = (id: number) => id % 2 === 0;
    for (const q of queries.slice(0, 20)) {
      const found = built.search(q, 50, even);
      expect(found.length).toBe(50);
      expect(found.every((c) => even(c.id))).toBe(true);
    }
  });

  it("refuses a vector of the wrong width", () => {
    expect(() => new Hnsw(OPTIONS).insert(new Float32Array(10))).toThrow(/dimensions/);
  });
});

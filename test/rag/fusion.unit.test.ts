import { describe, expect, it } from "vitest";
import { reciprocalRankFusion, RRF_K } from "../../workers/rag/fuse.js";
import { ftsQuery } from "../../workers/rag/lexical.js";

describe("reciprocal rank fusion", () => {
  it("orders a small fixture as worked out by hand", () => {
    // vector: a b c; lexical: c d a. a = 1/61 + 1/63, c = 1/63 + 1/61 (tie, a met first), b = 1/62, d = 1/62.
    const fused = reciprocalRankFusion([
      [
        { id: "a", rank: 1 },
        { id: "b", rank: 2 },
        { id: "c", rank: 3 },
      ],
      [
        { id: "c", rank: 1 },
        { id: "d", rank: 2 },
        { id: "a", rank: 3 },
      ],
    ]);
    expect(fused.map((f) => f.id)).toEqual(["a", "c", "b", "d"]);
    expect(fused[0]?.score).toBeCloseTo(1 / (RRF_K + 1) + 1 / (RRF_K + 3), 12);
    expect(fused[2]?.ranks).toEqual([2, undefined]);
    expect(fused[3]?.ranks).toEqual([undefined, 2]);
  });
});

describe("FTS5 query text", () => {
  it("keeps only quoted terms, whatever the user typed", () => {
    expect(ftsQuery('loss NEAR("x" y) AND -link* ^tq:5 OR (')).toBe(
      '"loss" OR "near" OR "x" OR "y" OR "link" OR "tq" OR "5"',
    );
    expect(ftsQuery("Überlast auf Knoten")).toBe('"überlast" OR "auf" OR "knoten"');
    expect(ftsQuery('"*-^()')).toBeUndefined();
  });

  it("leaves out function words, unless the query has nothing else", () => {
    expect(ftsQuery("how is a revoked node refused")).toBe('"revoked" OR "node" OR "refused"');
    expect(ftsQuery("what is it")).toBe('"what" OR "is" OR "it"');
  });

  it("caps the number of terms", () => {
    expect(ftsQuery(Array.from({ length: 100 }, (_, i) => `w${String(i)}`).join(" "))?.split(" OR ")).toHaveLength(32);
  });
});

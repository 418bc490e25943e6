/** Reciprocal rank fusion's constant (Cormack et al., 2009): damps the weight of the very top ranks. */
export const RRF_K = 60;

export interface Ranked {
  id: string;
  /** 1-based rank in its retriever's list. */
  rank: number;
}

export interface Fused {
  id: string;
  score: number;
  /** Its rank in each list, by the list's position; undefined where it did not appear. */
  ranks: (number | undefined)[];
}

/**
 * Reciprocal rank fusion: Σ 1 / (RRF_K + rank) over the lists an id appears in. Ties keep the
 * order in which ids were first met (the first list's order first).
 */
export function reciprocalRankFusion(lists: readonly (readonly Ranked[])[]): Fused[] {
  const fused = new Map<string, Fused>();
  lists.forEach((list, which) => {
    for (const { id, rank } of list) {
      const entry = fused.get(id) ?? {
        id,
        score: 0,
        ranks: new Array<number | undefined>(lists.length).fill(undefined),
      };
      entry.score += 1 / (RRF_K + rank);
      entry.ranks[which] = rank;
      fused.set(id, entry);
    }
  });
  return [...fused.values()].sort((a, b) => b.score - a.score);
}

/** Events counted by kind, a kind absent until it first happens. */
export type Counts<K extends string> = Partial<Record<K, number>>;

export function countOne<K extends string>(counts: Counts<K>, kind: K): void {
  counts[kind] = (counts[kind] ?? 0) + 1;
}

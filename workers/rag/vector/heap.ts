/**
 * A binary heap of (score, id) pairs in typed arrays, the lowest score on top: HNSW's candidate
 * and result sets without an object per entry. Grows by doubling; `clear` keeps the memory.
 */
export class ScoreHeap {
  private scores = new Float64Array(64);
  private ids = new Int32Array(64);
  size = 0;

  clear(): void {
    this.size = 0;
  }

  topScore(): number {
    return this.scores[0] ?? Number.NaN;
  }

  topId(): number {
    return this.ids[0] ?? -1;
  }

  push(score: number, id: number): void {
    if (this.size === this.scores.length) this.grow();
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentScore = this.scores[parent] ?? 0;
      if (parentScore <= score) break;
      this.scores[i] = parentScore;
      this.ids[i] = this.ids[parent] ?? 0;
      i = parent;
    }
    this.scores[i] = score;
    this.ids[i] = id;
  }

  /** Removes the top; read it first with topScore/topId. */
  pop(): void {
    const last = --this.size;
    if (last <= 0) return;
    const score = this.scores[last] ?? 0;
    const id = this.ids[last] ?? 0;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      const right = child + 1;
      if (right < last && (this.scores[right] ?? 0) < (this.scores[child] ?? 0)) child = right;
      const childScore = this.scores[child] ?? 0;
      if (childScore >= score) break;
      this.scores[i] = childScore;
      this.ids[i] = this.ids[child] ?? 0;
      i = child;
    }
    this.scores[i] = score;
    this.ids[i] = id;
  }

  private grow(): void {
    const scores = new Float64Array(this.scores.length * 2);
    scores.set(this.scores);
    const ids = new Int32Array(this.ids.length * 2);
    ids.set(this.ids);
    this.scores = scores;
    this.ids = ids;
  }
}

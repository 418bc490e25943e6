import { arrayCodeSpace, type CodeSpace } from "./codes.js";
import { ScoreHeap } from "./heap.js";
import { quantizeInto } from "./quantize.js";

/**
 * Hierarchical Navigable Small World graphs (Malkov & Yashunin, 2016) for inner product on
 * normalized vectors, in flat typed arrays: int8 codes (in a CodeSpace, WebAssembly memory where
 * its SIMD kernel runs), level-0 links in one Int32Array
 * (count, then ids), upper levels per node. Deletes are tombstones that still route until
 * `repair` relinks their neighbours and frees the slot.
 */
export interface HnswOptions {
  dimensions: number;
  /** Links per node on upper levels; level 0 keeps twice as many. */
  m: number;
  efConstruction: number;
  /** The level draw's random source (default Math.random); a seeded one makes builds repeatable. */
  random?: () => number;
  /** Where codes live and how they are multiplied (default: an ArrayBuffer and a JS loop). */
  codes?: CodeSpace;
  initialCapacity?: number;
}

/** One node as stored: enough to rebuild the graph without re-inserting. */
export interface HnswNode {
  id: number;
  level: number;
  scale: number;
  codes: Int8Array;
  /** Per level, its neighbour ids. */
  links: Int32Array[];
  deleted: boolean;
}

export interface Candidate {
  id: number;
  /** Approximate inner product (int8 codes against the float query). */
  score: number;
}

const MAX_LEVEL = 15;
const FREE = 255;
/** The query's codes sit in slot 0 of the code space, node `id` in slot id + 1. */
const QUERY = -1;

export class Hnsw {
  readonly dimensions: number;
  readonly m: number;
  readonly m0: number;
  readonly efConstruction: number;
  private readonly levelFactor: number;
  private readonly random: () => number;
  private capacity = 0;
  /** Slots in use or freed; freed ones are reused first. */
  private slots = 0;
  private free: number[] = [];
  private readonly codes: CodeSpace;
  private queryScale = 0;
  private scales = new Float32Array(0);
  /** FREE for an unused slot. */
  private levels = new Uint8Array(0);
  private deleted = new Uint8Array(0);
  private links0 = new Int32Array(0);
  private upper: (Int32Array | undefined)[] = [];
  private entry = -1;
  private topLevel = -1;
  private visited = new Uint32Array(0);
  private visitMark = 0;
  private readonly candidates = new ScoreHeap();
  private readonly results = new ScoreHeap();
  private tombstones = 0;
  /** Nodes whose record changed since the last `takeDirty`, for a store to write. */
  private dirty = new Set<number>();

  constructor(options: HnswOptions) {
    if (options.dimensions % 16 !== 0)
      throw new RangeError("dimensions must be a multiple of 16 (the SIMD kernel's lanes)");
    this.dimensions = options.dimensions;
    this.m = options.m;
    this.m0 = options.m * 2;
    this.efConstruction = options.efConstruction;
    this.levelFactor = 1 / Math.log(options.m);
    this.random = options.random ?? Math.random;
    this.codes = options.codes ?? arrayCodeSpace();
    this.reserve(options.initialCapacity ?? 1024);
  }

  /** Live nodes (inserted, not deleted). */
  get size(): number {
    return this.slots - this.free.length - this.tombstones;
  }

  get deletedCount(): number {
    return this.tombstones;
  }

  /** Bytes of the graph in memory (codes, links, bookkeeping), for shard sizing. */
  get memoryBytes(): number {
    let upperBytes = 0;
    for (const links of this.upper) upperBytes += links?.byteLength ?? 0;
    return (
      (this.capacity + 1) * this.dimensions + this.links0.byteLength + upperBytes + this.capacity * (4 + 1 + 1 + 4 + 8)
    );
  }

  isLive(id: number): boolean {
    return id < this.slots && this.levels[id] !== FREE && this.deleted[id] === 0;
  }

  /** Inserts a normalized vector; returns its id. */
  insert(vector: Float32Array): number {
    if (vector.length !== this.dimensions)
      throw new RangeError(`vector has ${vector.length} dimensions, the index ${this.dimensions}`);
    const id = this.allocate();
    const level = Math.min(MAX_LEVEL, Math.floor(-Math.log(1 - this.random()) * this.levelFactor));
    this.scales[id] = quantizeInto(vector, this.codes.bytes(), this.offset(id));
    this.levels[id] = level;
    this.deleted[id] = 0;
    this.links0[id * (this.m0 + 1)] = 0;
    this.upper[id] = level > 0 ? new Int32Array(level * (this.m + 1)) : undefined;
    this.dirty.add(id);
    if (this.entry < 0) {
      this.entry = id;
      this.topLevel = level;
      return id;
    }
    let entry = this.entry;
    for (let l = this.topLevel; l > level; l--) entry = this.greedy(id, entry, l);
    for (let l = Math.min(level, this.topLevel); l >= 0; l--) {
      const found = this.searchLayer(id, [entry], this.efConstruction, l, undefined);
      const chosen = this.selectNeighbors(found, this.m);
      this.setLinks(
        id,
        l,
        chosen.map((c) => c.id),
      );
      for (const neighbor of chosen) this.addLink(neighbor.id, id, l);
      entry = found[0]?.id ?? entry;
    }
    if (level > this.topLevel) {
      this.entry = id;
      this.topLevel = level;
    }
    return id;
  }

  /** Marks a node deleted: never returned again, still a route until `repair`. */
  delete(id: number): boolean {
    if (!this.isLive(id)) return false;
    this.deleted[id] = 1;
    this.tombstones++;
    this.dirty.add(id);
    return true;
  }

  /**
   * The `ef` best candidates for a normalized query, best first, by int8 inner product; `accept`
   * filters what may be returned (the walk still passes through the rest).
   */
  search(query: Float32Array, ef: number, accept?: (id: number) => boolean): Candidate[] {
    if (this.entry < 0) return [];
    this.queryScale = quantizeInto(query, this.codes.bytes(), 0);
    let entry = this.entry;
    for (let l = this.topLevel; l > 0; l--) entry = this.greedy(QUERY, entry, l);
    const deleted = this.deleted;
    const filter =
      this.tombstones === 0 && accept === undefined
        ? undefined
        : (id: number) => deleted[id] === 0 && (accept === undefined || accept(id));
    return this.searchLayer(QUERY, [entry], ef, 0, filter);
  }

  /**
   * Relinks the neighbours of deleted nodes to the deleted nodes' own neighbours (the
   * heuristic chooses among them) and frees the deleted slots. Returns how many were freed.
   */
  repair(): number {
    if (this.tombstones === 0) return 0;
    for (let id = 0; id < this.slots; id++) {
      if (this.levels[id] === FREE || this.deleted[id] === 1) continue;
      for (let l = 0; l <= (this.levels[id] ?? 0); l++) this.repairLinks(id, l);
    }
    let freed = 0;
    for (let id = 0; id < this.slots; id++) {
      if (this.levels[id] === FREE || this.deleted[id] === 0) continue;
      this.release(id);
      freed++;
    }
    this.tombstones = 0;
    if (this.entry >= 0 && this.levels[this.entry] === FREE) this.chooseEntry();
    return freed;
  }

  /** Node records changed since the last call (freed ones come back with level -1). */
  takeDirty(): HnswNode[] {
    const nodes = [...this.dirty].map((id) => this.node(id));
    this.dirty.clear();
    return nodes;
  }

  node(id: number): HnswNode {
    const level = this.levels[id] ?? FREE;
    if (level === FREE) return { id, level: -1, scale: 0, codes: new Int8Array(0), links: [], deleted: true };
    const links: Int32Array[] = [];
    for (let l = 0; l <= level; l++) links.push(this.linksOf(id, l).slice());
    const codes = this.codes.bytes().slice(this.offset(id), this.offset(id) + this.dimensions);
    return { id, level, scale: this.scales[id] ?? 0, codes, links, deleted: this.deleted[id] === 1 };
  }

  /** Rebuilds an index from stored nodes (ids as they were); the entry is the highest node. */
  static restore(options: HnswOptions, nodes: Iterable<HnswNode>): Hnsw {
    const index = new Hnsw(options);
    for (const node of nodes) index.load(node);
    // Slots between stored ids were freed before the store was written.
    for (let id = 0; id < index.slots; id++) if (index.levels[id] === FREE) index.free.push(id);
    index.chooseEntry();
    index.dirty.clear();
    return index;
  }

  private load(node: HnswNode): void {
    while (node.id >= this.capacity) this.reserve(this.capacity * 2);
    this.slots = Math.max(this.slots, node.id + 1);
    this.levels[node.id] = node.level;
    this.scales[node.id] = node.scale;
    this.deleted[node.id] = node.deleted ? 1 : 0;
    if (node.deleted) this.tombstones++;
    this.codes.bytes().set(node.codes, this.offset(node.id));
    this.upper[node.id] = node.level > 0 ? new Int32Array(node.level * (this.m + 1)) : undefined;
    node.links.forEach((links, level) => {
      this.setLinks(node.id, level, Array.from(links));
    });
  }

  private chooseEntry(): void {
    this.entry = -1;
    this.topLevel = -1;
    for (let id = 0; id < this.slots; id++) {
      const level = this.levels[id] ?? FREE;
      if (level !== FREE && level > this.topLevel) {
        this.entry = id;
        this.topLevel = level;
      }
    }
  }

  private allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.slots === this.capacity) this.reserve(this.capacity * 2);
    return this.slots++;
  }

  private release(id: number): void {
    this.levels[id] = FREE;
    this.deleted[id] = 0;
    this.upper[id] = undefined;
    this.links0[id * (this.m0 + 1)] = 0;
    this.free.push(id);
    this.dirty.add(id);
  }

  private reserve(capacity: number): void {
    const grow = <T extends Int8Array | Uint8Array | Int32Array | Float32Array | Uint32Array>(
      old: T,
      make: (n: number) => T,
      per: number,
    ) => {
      const next = make(capacity * per);
      next.set(old);
      return next;
    };
    this.codes.reserve((capacity + 1) * this.dimensions);
    this.scales = grow(this.scales, (n) => new Float32Array(n), 1);
    const levels = new Uint8Array(capacity).fill(FREE);
    levels.set(this.levels);
    this.levels = levels;
    this.deleted = grow(this.deleted, (n) => new Uint8Array(n), 1);
    this.links0 = grow(this.links0, (n) => new Int32Array(n), this.m0 + 1);
    this.visited = new Uint32Array(capacity);
    this.visitMark = 0;
    this.capacity = capacity;
  }

  /** The list of `id` at `level`, count first (a view, not a copy). */
  private linkList(id: number, level: number): Int32Array {
    if (level === 0) return this.links0.subarray(id * (this.m0 + 1), (id + 1) * (this.m0 + 1));
    const width = this.m + 1;
    const upper = this.upper[id];
    if (!upper) throw new RangeError(`node ${id} has no level ${level}`);
    return upper.subarray((level - 1) * width, level * width);
  }

  private linksOf(id: number, level: number): Int32Array {
    const list = this.linkList(id, level);
    return list.subarray(1, 1 + (list[0] ?? 0));
  }

  private setLinks(id: number, level: number, ids: readonly number[]): void {
    const list = this.linkList(id, level);
    list[0] = ids.length;
    list.set(ids, 1);
    this.dirty.add(id);
  }

  /** Adds `to` to `from`'s links at `level`; past the level's maximum, the heuristic prunes. */
  private addLink(from: number, to: number, level: number): void {
    const max = level === 0 ? this.m0 : this.m;
    const list = this.linkList(from, level);
    const count = list[0] ?? 0;
    if (count < max) {
      list[count + 1] = to;
      list[0] = count + 1;
      this.dirty.add(from);
      return;
    }
    const pool = [...list.subarray(1, 1 + count), to].map((id) => ({ id, score: this.score(from, id) }));
    pool.sort((a, b) => b.score - a.score);
    this.setLinks(
      from,
      level,
      this.selectNeighbors(pool, max).map((c) => c.id),
    );
  }

  /** Drops deleted neighbours of `id` at `level`, refilling from their own live neighbours. */
  private repairLinks(id: number, level: number): void {
    const links = this.linksOf(id, level);
    if (!links.some((n) => this.deleted[n] === 1)) return;
    const pool = new Map<number, number>();
    const consider = (n: number) => {
      if (n !== id && this.deleted[n] === 0 && this.levels[n] !== FREE && !pool.has(n)) pool.set(n, this.score(id, n));
    };
    for (const n of links) {
      if (this.deleted[n] === 0) consider(n);
      else for (const nn of this.linksOf(n, level)) consider(nn);
    }
    const sorted = [...pool].map(([n, score]) => ({ id: n, score })).sort((a, b) => b.score - a.score);
    this.setLinks(
      id,
      level,
      this.selectNeighbors(sorted, level === 0 ? this.m0 : this.m).map((c) => c.id),
    );
  }

  /**
   * HNSW's neighbour heuristic: a candidate is kept only if it is closer to the base than to
   * every neighbour already kept, so links spread in direction rather than cluster.
   */
  private selectNeighbors(sorted: readonly Candidate[], max: number): Candidate[] {
    if (sorted.length <= max) return [...sorted];
    const kept: Candidate[] = [];
    for (const candidate of sorted) {
      if (kept.length >= max) break;
      if (kept.every((k) => this.score(candidate.id, k.id) < candidate.score)) kept.push(candidate);
    }
    return kept;
  }

  /** From `from` (a node, or QUERY): the closest node reachable by always moving closer. */
  private greedy(from: number, entry: number, level: number): number {
    let best = entry;
    let bestScore = this.score(from, entry);
    for (let improved = true; improved;) {
      improved = false;
      for (const n of this.linksOf(best, level)) {
        const score = this.score(from, n);
        if (score > bestScore) {
          best = n;
          bestScore = score;
          improved = true;
        }
      }
    }
    return best;
  }

  /** The best `ef` accepted nodes reachable from `entries` at `level`, best first. */
  private searchLayer(
    from: number,
    entries: readonly number[],
    ef: number,
    level: number,
    accept: ((id: number) => boolean) | undefined,
  ): Candidate[] {
    const mark = this.nextVisitMark();
    const visited = this.visited;
    // Candidates: best on top (scores negated); results: worst on top, at most ef.
    const candidates = this.candidates;
    const results = this.results;
    candidates.clear();
    results.clear();
    for (const entry of entries) {
      const score = this.score(from, entry);
      visited[entry] = mark;
      candidates.push(-score, entry);
      if (!accept || accept(entry)) results.push(score, entry);
    }
    while (candidates.size > 0) {
      const score = -candidates.topScore();
      const current = candidates.topId();
      if (results.size >= ef && score < results.topScore()) break;
      candidates.pop();
      const list = level === 0 ? this.links0 : this.linkList(current, level);
      const base = level === 0 ? current * (this.m0 + 1) : 0;
      const count = list[base] ?? 0;
      for (let i = 1; i <= count; i++) {
        const n = list[base + i] ?? 0;
        if (visited[n] === mark) continue;
        visited[n] = mark;
        const nScore = this.score(from, n);
        if (results.size < ef || nScore > results.topScore()) {
          candidates.push(-nScore, n);
          if (!accept || accept(n)) {
            results.push(nScore, n);
            if (results.size > ef) results.pop();
          }
        }
      }
    }
    const found: Candidate[] = new Array<Candidate>(results.size);
    for (let i = results.size - 1; i >= 0; i--) {
      found[i] = { id: results.topId(), score: results.topScore() };
      results.pop();
    }
    return found;
  }

  private nextVisitMark(): number {
    this.visitMark++;
    if (this.visitMark === 0xffffffff) {
      this.visited.fill(0);
      this.visitMark = 1;
    }
    return this.visitMark;
  }

  private offset(id: number): number {
    return (id + 1) * this.dimensions;
  }

  /** Inner product of two nodes' codes (or the query's, QUERY), scaled back to floats. */
  private score(a: number, b: number): number {
    const scaleA = a === QUERY ? this.queryScale : (this.scales[a] ?? 0);
    return this.codes.dot(this.offset(a), this.offset(b), this.dimensions) * scaleA * (this.scales[b] ?? 0);
  }
}

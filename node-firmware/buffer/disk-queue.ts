import { appendFile, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface DiskQueueOptions {
  dir: string;
  /** Most items kept; past it the oldest segment goes, and its items are counted as dropped. */
  maxItems: number;
  itemsPerSegment?: number;
}

export interface DiskQueueStats {
  queued: number;
  dropped: number;
}

const SEGMENT = /^(\d{12})\.jsonl$/;
const segmentName = (n: number) => `${String(n).padStart(12, "0")}.jsonl`;

/**
 * A bounded FIFO of JSON items on disk, for what must survive an outage or a restart: items are
 * appended to segment files; the oldest segments go first when the bound is hit, and every item
 * lost that way is counted, so nothing is lost silently. Single writer, single reader.
 */
export class DiskQueue<T> {
  private segments: number[] = [];
  private counts = new Map<number, number>();
  /** Items of the head segment already taken. */
  private headTaken = 0;
  private readonly perSegment: number;
  /** Position of the oldest queued item among all items this instance has seen; drops and acks move it. */
  private head = 0;
  /**
   * Parsed items of the head and tail segments: with a healthy consumer they are the same segment,
   * and a push followed by a peek never touches the disk to read.
   */
  private readonly parsed = new Map<number, T[]>();
  readonly stats: DiskQueueStats = { queued: 0, dropped: 0 };
  /** The last push: the next one starts after it, so overlapping pushes land in the order they were made. */
  private appending: Promise<void> = Promise.resolve();

  private constructor(private readonly options: DiskQueueOptions) {
    this.perSegment = options.itemsPerSegment ?? 256;
  }

  static async open<T>(options: DiskQueueOptions): Promise<DiskQueue<T>> {
    const queue = new DiskQueue<T>(options);
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const names = (await readdir(options.dir)).filter((n) => SEGMENT.test(n)).sort();
    for (const name of names) {
      const n = Number(SEGMENT.exec(name)?.[1]);
      queue.segments.push(n);
      queue.counts.set(n, (await queue.lines(n)).length);
    }
    queue.headTaken = Number((await readFile(join(options.dir, "head"), "utf8").catch(() => "0")).trim()) || 0;
    queue.stats.queued = [...queue.counts.values()].reduce((a, b) => a + b, 0) - queue.headTaken;
    return queue;
  }

  get size(): number {
    return this.stats.queued;
  }

  push(item: T): Promise<void> {
    return this.pushAll([item]);
  }

  /** Appends items in order, after every push made before this one, one write per segment they land in. */
  pushAll(items: readonly T[]): Promise<void> {
    const appended = this.appending.then(() => this.append(items));
    this.appending = appended.catch(() => undefined);
    return appended;
  }

  private async append(items: readonly T[]): Promise<void> {
    let next = 0;
    while (next < items.length) {
      let tail = this.segments.at(-1);
      if (tail === undefined || (this.counts.get(tail) ?? 0) >= this.perSegment) {
        tail = (tail ?? 0) + 1;
        this.segments.push(tail);
        this.counts.set(tail, 0);
      }
      const room = this.perSegment - (this.counts.get(tail) ?? 0);
      const slice = items.slice(next, next + room);
      await appendFile(join(this.options.dir, segmentName(tail)), slice.map((i) => JSON.stringify(i) + "\n").join(""), { mode: 0o600 });
      if ((this.counts.get(tail) ?? 0) === 0) this.parsed.set(tail, []);
      this.parsed.get(tail)?.push(...slice);
      this.counts.set(tail, (this.counts.get(tail) ?? 0) + slice.length);
      this.stats.queued += slice.length;
      next += slice.length;
      while (this.stats.queued > this.options.maxItems && this.segments.length > 1) await this.dropHead();
    }
  }

  /**
   * Up to `max` of the oldest items, not yet removed, and the position just past them: pass that
   * to `ackThrough` once they are safely elsewhere. Positions survive drops made in between.
   */
  async peek(max: number): Promise<{ items: T[]; through: number }> {
    const items = await this.oldest(max);
    return { items, through: this.head + items.length };
  }

  /**
   * Removes what `peek` returned once it is safely elsewhere. Items of it that a drop removed in the
   * meantime were delivered after all: they come off the dropped count again.
   */
  async ackThrough(peeked: { items: readonly T[]; through: number }): Promise<void> {
    const start = peeked.through - peeked.items.length;
    const droppedMeanwhile = Math.max(0, Math.min(this.head, peeked.through) - start);
    this.stats.dropped -= droppedMeanwhile;
    if (peeked.through > this.head) await this.ack(peeked.through - this.head);
  }

  private async oldest(max: number): Promise<T[]> {
    const out: T[] = [];
    const [head, tail] = [this.segments[0], this.segments.at(-1)];
    let skip = this.headTaken;
    for (const n of this.segments) {
      let items = this.parsed.get(n);
      if (!items) {
        items = (await this.lines(n)).map((line) => JSON.parse(line) as T);
        // Cache only a complete read: a push may have appended while the file was being read.
        if ((n === head || n === tail) && items.length === this.counts.get(n)) this.parsed.set(n, items);
      }
      out.push(...items.slice(skip, skip + max - out.length));
      skip = 0;
      if (out.length >= max) break;
    }
    for (const n of this.parsed.keys()) if (n !== head && n !== tail) this.parsed.delete(n);
    return out;
  }

  private async ack(count: number): Promise<void> {
    let left = Math.min(count, this.stats.queued);
    this.head += left;
    while (left > 0) {
      const head = this.segments[0] as number;
      const available = (this.counts.get(head) ?? 0) - this.headTaken;
      const taken = Math.min(left, available);
      this.headTaken += taken;
      this.stats.queued -= taken;
      left -= taken;
      if (this.headTaken >= (this.counts.get(head) ?? 0) && this.segments.length > 1) await this.removeHead();
    }
    await writeFile(join(this.options.dir, "head"), String(this.headTaken));
  }

  private async dropHead(): Promise<void> {
    const head = this.segments[0] as number;
    const lost = (this.counts.get(head) ?? 0) - this.headTaken;
    this.stats.dropped += lost;
    this.head += lost;
    this.stats.queued -= lost;
    await this.removeHead();
    await writeFile(join(this.options.dir, "head"), "0");
  }

  private async removeHead(): Promise<void> {
    const head = this.segments.shift() as number;
    this.counts.delete(head);
    this.parsed.delete(head);
    this.headTaken = 0;
    await rm(join(this.options.dir, segmentName(head)), { force: true });
  }

  private async lines(n: number): Promise<string[]> {
    const text = await readFile(join(this.options.dir, segmentName(n)), "utf8").catch(() => "");
    return text.split("\n").filter((l) => l.length > 0);
  }
}

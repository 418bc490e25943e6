import { mkdir, open, readFile, readdir, rename, rm, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";

export interface DiskQueueOptions {
  dir: string;
  /** Most items kept; past it the oldest segment goes, and its items are counted as dropped. */
  maxItems: number;
  itemsPerSegment?: number;
  /**
   * Appends reach the kernel before a push resolves, so a killed process loses nothing; they reach
   * the disk itself (fsync) within this many milliseconds, which bounds what a power cut can take.
   * 0 syncs every write before its push resolves.
   */
  syncIntervalMs?: number;
}

export interface DiskQueueStats {
  queued: number;
  dropped: number;
  /** Lines found unreadable on open (a write torn by a crash or power cut), moved to `torn/`. */
  setAside: number;
  /** fsync calls made. */
  syncs: number;
}

const SEGMENT = /^(\d{12})\.jsonl$/;
const segmentName = (n: number) => `${String(n).padStart(12, "0")}.jsonl`;
export const DEFAULT_SYNC_INTERVAL_MS = 1000;

interface PendingWrite<T> {
  items: T[];
  done: Promise<void>;
  settle: (error?: unknown) => void;
}

/**
 * A bounded FIFO of JSON items on disk, for what must survive an outage, a restart, a kill or a
 * power cut: items are appended to segment files; the oldest segments go first when the bound is
 * hit, and every item lost that way is counted, so nothing is lost silently. Pushes made while a
 * write is under way share the next write (group commit). Single writer, single reader.
 */
export class DiskQueue<T> {
  private segments: number[] = [];
  private counts = new Map<number, number>();
  /** Items of the head segment already taken. */
  private headTaken = 0;
  private readonly perSegment: number;
  private readonly syncIntervalMs: number;
  /** Position of the oldest queued item among all items this instance has seen; drops and acks move it. */
  private head = 0;
  /**
   * Parsed items of the head and tail segments: with a healthy consumer they are the same segment,
   * and a push followed by a peek never touches the disk to read.
   */
  private readonly parsed = new Map<number, T[]>();
  readonly stats: DiskQueueStats = { queued: 0, dropped: 0, setAside: 0, syncs: 0 };
  /** The write loop while one runs: pushes made meanwhile join `pending`, which it writes next. */
  private writer: Promise<void> | undefined;
  private pending: PendingWrite<T> | undefined;
  private tail: { n: number; file: FileHandle } | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private unsynced = false;

  private constructor(private readonly options: DiskQueueOptions) {
    this.perSegment = options.itemsPerSegment ?? 256;
    this.syncIntervalMs = options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
  }

  static async open<T>(options: DiskQueueOptions): Promise<DiskQueue<T>> {
    const queue = new DiskQueue<T>(options);
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const head = await readHead(options.dir);
    const numbers = (await readdir(options.dir)).flatMap((name) => {
      const match = SEGMENT.exec(name);
      return match ? [Number(match[1])] : [];
    });
    numbers.sort((a, b) => a - b);
    for (const n of numbers) {
      // Segments before the head's were taken whole: a crash came between the head moving on and their removal.
      if (head.segment !== undefined && n < head.segment) {
        await rm(join(options.dir, segmentName(n)), { force: true });
        continue;
      }
      const isHead = queue.segments.length === 0;
      // A head naming a segment that is gone belonged to a removed segment: the next one is untouched.
      if (isHead) queue.headTaken = head.segment === undefined || head.segment === n ? head.taken : 0;
      queue.segments.push(n);
      queue.counts.set(n, await queue.recover(n, isHead));
    }
    const headCount = queue.counts.get(queue.segments[0] ?? -1) ?? 0;
    queue.headTaken = Math.min(queue.headTaken, headCount);
    queue.stats.queued = [...queue.counts.values()].reduce((a, b) => a + b, 0) - queue.headTaken;
    return queue;
  }

  get size(): number {
    return this.stats.queued;
  }

  push(item: T): Promise<void> {
    return this.pushAll([item]);
  }

  /**
   * Appends items in order, after every push made before this one; resolves once they are written
   * (and synced, with a sync interval of 0). Pushes made while a write is under way are written
   * together, one write per segment they land in.
   */
  pushAll(items: readonly T[]): Promise<void> {
    if (!this.pending) {
      let settle: PendingWrite<T>["settle"] = () => undefined;
      const done = new Promise<void>((resolve, reject) => {
        settle = (error) => {
          if (error === undefined) resolve();
          else reject(error instanceof Error ? error : new Error("disk queue write failed", { cause: error }));
        };
      });
      this.pending = { items: [], done, settle };
    }
    this.pending.items.push(...items);
    const { done } = this.pending;
    this.writer ??= this.writePending();
    return done;
  }

  private async writePending(): Promise<void> {
    while (this.pending) {
      const batch = this.pending;
      this.pending = undefined;
      try {
        await this.append(batch.items);
        if (this.syncIntervalMs === 0) await this.sync();
        else this.scheduleSync();
        batch.settle();
      } catch (error) {
        batch.settle(error);
      }
    }
    this.writer = undefined;
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
      const file = await this.tailFile(tail);
      await file.appendFile(slice.map((i) => JSON.stringify(i) + "\n").join(""));
      this.unsynced = true;
      if ((this.counts.get(tail) ?? 0) === 0) this.parsed.set(tail, []);
      this.parsed.get(tail)?.push(...slice);
      this.counts.set(tail, (this.counts.get(tail) ?? 0) + slice.length);
      this.stats.queued += slice.length;
      next += slice.length;
      while (this.stats.queued > this.options.maxItems && this.segments.length > 1) await this.dropHead();
    }
  }

  /** The open tail segment; a segment left behind is synced and closed, so only the tail can be torn by a power cut. */
  private async tailFile(n: number): Promise<FileHandle> {
    if (this.tail?.n === n) return this.tail.file;
    await this.closeTail();
    const file = await open(join(this.options.dir, segmentName(n)), "a", 0o600);
    this.tail = { n, file };
    return file;
  }

  private async closeTail(): Promise<void> {
    if (!this.tail) return;
    const { file } = this.tail;
    await this.sync();
    this.tail = undefined;
    await file.close();
  }

  private scheduleSync(): void {
    this.syncTimer ??= setTimeout(() => {
      this.syncTimer = undefined;
      // A sync that fails leaves the data where a later one, or the kernel, writes it.
      this.sync().catch(() => undefined);
    }, this.syncIntervalMs);
    this.syncTimer.unref();
  }

  private async sync(): Promise<void> {
    if (!this.tail || !this.unsynced) return;
    this.unsynced = false;
    this.stats.syncs++;
    await this.tail.file.sync();
  }

  /** Writes what is pending, syncs it and closes the tail segment. The queue may be opened again afterwards. */
  async close(): Promise<void> {
    await this.writer;
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    await this.closeTail();
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
    await this.writeHead();
  }

  /**
   * The head names its segment and how many of its items were taken. Replaced whole, never
   * rewritten in place: a crash leaves the old head or the new one. Not synced: a head older than
   * the truth after a power cut resends what was delivered, which the edge takes as replays.
   */
  private async writeHead(): Promise<void> {
    const temp = join(this.options.dir, "head.tmp");
    await writeFile(temp, `${String(this.segments[0] ?? 0)} ${String(this.headTaken)}`);
    await rename(temp, join(this.options.dir, "head"));
  }

  private async dropHead(): Promise<void> {
    const head = this.segments[0] as number;
    const lost = (this.counts.get(head) ?? 0) - this.headTaken;
    this.stats.dropped += lost;
    this.head += lost;
    this.stats.queued -= lost;
    await this.removeHead();
  }

  /** The head moves to the next segment on disk before the taken one goes, so a crash in between loses nothing. */
  private async removeHead(): Promise<void> {
    const head = this.segments.shift() as number;
    this.counts.delete(head);
    this.parsed.delete(head);
    this.headTaken = 0;
    if (this.tail?.n === head) await this.closeTail();
    await this.writeHead();
    await rm(join(this.options.dir, segmentName(head)), { force: true });
  }

  /**
   * Reads segment `n` on open and sets aside every line that is not a whole JSON value (a torn
   * append ends without its newline, or as zeros where the file grew before its data landed):
   * they go to `torn/`, counted, and the segment is replaced by its readable lines. Returns how
   * many lines it holds.
   */
  private async recover(n: number, isHead: boolean): Promise<number> {
    const path = join(this.options.dir, segmentName(n));
    const text = await readFile(path, "utf8").catch(() => "");
    const lines = text.split("\n");
    const complete = text.endsWith("\n") ? lines.slice(0, -1) : lines;
    const kept: string[] = [];
    const torn: string[] = [];
    complete.forEach((line, index) => {
      if (line.length > 0 && parses(line) && (index < complete.length - 1 || text.endsWith("\n"))) kept.push(line);
      else if (line.length > 0) {
        torn.push(line);
        if (isHead && index < this.headTaken) this.headTaken--;
      }
    });
    if (torn.length === 0) return kept.length;
    this.stats.setAside += torn.length;
    await mkdir(join(this.options.dir, "torn"), { recursive: true, mode: 0o700 });
    await writeFile(join(this.options.dir, "torn", `${segmentName(n)}.${String(Date.now())}`), torn.join("\n") + "\n", {
      mode: 0o600,
    });
    const temp = `${path}.tmp`;
    await writeFile(temp, kept.map((line) => line + "\n").join(""), { mode: 0o600 });
    await rename(temp, path);
    return kept.length;
  }

  private async lines(n: number): Promise<string[]> {
    const text = await readFile(join(this.options.dir, segmentName(n)), "utf8").catch(() => "");
    return text.split("\n").filter((l) => l.length > 0);
  }
}

/** `<segment> <taken>`; an older head held the count alone, for the first segment. */
async function readHead(dir: string): Promise<{ segment: number | undefined; taken: number }> {
  const text = (await readFile(join(dir, "head"), "utf8").catch(() => "")).trim();
  const [first, second] = text.split(" ").map(Number);
  if (second === undefined)
    return { segment: undefined, taken: Number.isInteger(first) && (first ?? 0) > 0 ? (first as number) : 0 };
  return { segment: first, taken: Number.isInteger(second) && second > 0 ? second : 0 };
}

function parses(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

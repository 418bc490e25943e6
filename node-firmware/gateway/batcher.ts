import type { BatchItem } from "../../protocol/index.js";

export interface BatcherOptions {
  maxItems: number;
  maxDelayMs: number;
}

/** Groups items into batches bounded by size and by the age of their oldest item. */
export class Batcher {
  private items: BatchItem[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: BatcherOptions,
    private readonly emit: (items: BatchItem[]) => void,
  ) {}

  push(item: BatchItem): void {
    this.items.push(item);
    if (this.items.length >= this.options.maxItems) this.flush();
    else this.timer ??= setTimeout(() => { this.flush(); }, this.options.maxDelayMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.emit(items);
  }

  get pending(): number {
    return this.items.length;
  }
}

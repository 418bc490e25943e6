import type { DenyList } from "../../protocol/index.js";

/**
 * Fast membership view of a deny list, by SPIFFE ID and by certificate serial (lower-case hex),
 * with the revision it holds. Listeners hear of every change, so that a broker can drop the
 * sessions it now denies.
 */
export class DenyView {
  private ids = new Set<string>();
  private serials = new Set<string>();
  private listeners = new Set<() => void>();
  private list: DenyList | undefined;

  /** The revision held; -1 before any list, which a gateway's broker takes as "refuse nodes". */
  get revision(): number {
    return this.list?.revision ?? -1;
  }

  /** The list applied last (a relay's copy to publish). */
  current(): DenyList | undefined {
    return this.list;
  }

  /** True once a list has been applied (fetched, or loaded from the copy on disk). */
  get known(): boolean {
    return this.revision >= 0;
  }

  /** Applies a list unless it is older than the one held (a retained copy replayed late); returns whether it did. */
  update(list: DenyList): boolean {
    if (list.revision < this.revision) return false;
    this.ids = new Set(list.entries.flatMap((e) => (e.spiffeId ? [e.spiffeId] : [])));
    this.serials = new Set(list.entries.flatMap((e) => (e.serial ? [e.serial.toLowerCase()] : [])));
    this.list = list;
    for (const listener of this.listeners) listener();
    return true;
  }

  denies(spiffeId: string, serial?: string): boolean {
    return this.ids.has(spiffeId) || (serial !== undefined && this.serials.has(serial.toLowerCase()));
  }

  /** Calls `listener` after every applied list; returns the function that stops it. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

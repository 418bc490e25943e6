import type { Cancel, Clock } from "../../node-firmware/lib/clock.js";

interface Pending {
  at: number;
  order: number;
  callback: () => void;
}

/**
 * A clock that moves only when the test says: `advance(ms)` fires, in time order, every timer due
 * by then, letting the promises each one settles run before the next (as the event loop would).
 */
export class ManualClock implements Clock {
  private time: number;
  private pending: Pending[] = [];
  private scheduled = 0;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  after(ms: number, callback: () => void): Cancel {
    const entry = { at: this.time + Math.max(0, ms), order: this.scheduled++, callback };
    this.pending.push(entry);
    return () => {
      this.pending = this.pending.filter((p) => p !== entry);
    };
  }

  /** Timers waiting to fire. */
  get timers(): number {
    return this.pending.length;
  }

  /** Moves the clock on by `ms`, firing what falls due on the way, and settles what they started. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    await settle();
    for (let next = this.nextDue(until); next; next = this.nextDue(until)) {
      this.pending = this.pending.filter((p) => p !== next);
      this.time = next.at;
      next.callback();
      await settle();
    }
    this.time = until;
  }

  private nextDue(until: number): Pending | undefined {
    const due = this.pending.filter((p) => p.at <= until);
    return due.sort((a, b) => a.at - b.at || a.order - b.order)[0];
  }
}

/** Lets every promise callback already queued, and those they queue in turn, run: one macrotask turn. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

import { backoffDelay } from "../node-firmware/lib/index.js";

/** A child that ran this long before it died is restarted at once again: its failures are not a loop. */
const STABLE_AFTER_MS = 30_000;
const INITIAL_MS = 500;
const MAX_MS = 30_000;

/** When to restart a child that died: backoff grows while it keeps dying young, and resets once it ran a while. */
export class RestartPolicy {
  private attempt = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The delay before the next start of a child that started at `startedAt` and has just exited. */
  next(startedAt: number): number {
    if (this.now() - startedAt >= STABLE_AFTER_MS) this.attempt = 0;
    return backoffDelay(this.attempt++, INITIAL_MS, MAX_MS);
  }
}

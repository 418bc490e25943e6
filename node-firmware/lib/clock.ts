/**
 * Time as the firmware's timed logic sees it (batching, retries, rotation), so that a test can
 * move it instead of waiting: `systemClock` in the agent, a clock the test advances
 * (test/helpers/clock.ts) in its tests. Tailscale's tstime.Clock plays the same part.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once `ms` have passed; the returned function cancels it. */
  after(ms: number, callback: () => void, options?: TimerOptions): Cancel;
}

export interface TimerOptions {
  /**
   * The timer alone does not keep the process running (Node's `unref`): for work that may be
   * dropped when the agent stops (a span batch, an early rotation), not for what the agent waits
   * on (a retried attestation).
   */
  background?: boolean;
}

export type Cancel = () => void;

export const systemClock: Clock = {
  now: () => Date.now(),
  after: (ms, callback, options) => {
    const timer = setTimeout(callback, ms);
    if (options?.background) timer.unref();
    return () => {
      clearTimeout(timer);
    };
  },
};

/** Resolves once `ms` have passed on `clock`. */
export const sleep = (clock: Clock, ms: number, options?: TimerOptions): Promise<void> =>
  new Promise((resolve) => {
    clock.after(ms, resolve, options);
  });

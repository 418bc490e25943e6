/**
 * Time as the firmware's timed logic sees it (batching, retries, rotation), so that a test can
 * move it instead of waiting: `systemClock` in the agent, a clock the test advances
 * (test/helpers/clock.ts) in its tests. Tailscale's tstime.Clock plays the same part.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once `ms` have passed; the returned function cancels it. */
  after(ms: number, callback: () => void): Cancel;
}

export type Cancel = () => void;

/**
 * The real clock. Its timers never keep a process alive by themselves: an agent stops by closing
 * its sockets and files, not by waiting out a retry.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  after: (ms, callback) => {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return () => {
      clearTimeout(timer);
    };
  },
};

/** Resolves once `ms` have passed on `clock`. */
export const sleep = (clock: Clock, ms: number): Promise<void> =>
  new Promise((resolve) => {
    clock.after(ms, resolve);
  });

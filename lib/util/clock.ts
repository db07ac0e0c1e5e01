/**
 * Time as the writer and the samplers see it: the system clock in
 * production, a clock that tests move by hand where what they test is
 * logic (a flush bound, a sampling count), not the machine's speed.
 *
 * @module
 */

/** A source of time and repeating timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `fn` every `ms` milliseconds until the returned function is
   * called. The timer never keeps a program alive by itself.
   */
  every(ms: number, fn: () => void): () => void;
}

/** The system clock: `Date.now()` and unref'd `setInterval`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    // Deno's timers are numbers; the node typings that node:sqlite pulls in say otherwise.
    const timer = setInterval(fn, ms) as unknown as number;
    Deno.unrefTimer(timer);
    return () => clearInterval(timer);
  },
};

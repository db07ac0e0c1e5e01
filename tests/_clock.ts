/**
 * A clock that tests move by hand, for logic that depends on time (flush
 * bounds, sampling counts): no wall-clock bound on a shared machine.
 *
 * @module
 */

import type { Clock } from "../lib/mod.ts";

interface _Timer {
  every: number;
  next: number;
  fn: () => void;
  stopped: boolean;
}

/** A {@linkcode Clock} whose time moves only when told. */
export class ManualClock implements Clock {
  #now: number;
  #timers: _Timer[] = [];

  /** Starts at `start` milliseconds since the epoch. */
  constructor(start = 1_800_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  every(ms: number, fn: () => void): () => void {
    const timer = { every: ms, next: this.#now + ms, fn, stopped: false };
    this.#timers.push(timer);
    return () => {
      timer.stopped = true;
    };
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in time order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => !t.stopped && t.next <= end)
        .sort((a, b) => a.next - b.next)[0];
      if (due === undefined) break;
      this.#now = due.next;
      due.next += due.every;
      due.fn();
    }
    this.#now = end;
  }

  /**
   * Moves time forward without firing timers, as for a program whose loop
   * never yields to its event loop: the ticks it missed are skipped.
   */
  jump(ms: number): void {
    this.#now += ms;
    for (const timer of this.#timers) {
      while (timer.next <= this.#now) timer.next += timer.every;
    }
  }

  /** Timers not yet stopped. */
  get active(): number {
    return this.#timers.filter((t) => !t.stopped).length;
  }
}

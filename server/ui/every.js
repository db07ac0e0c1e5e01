/// <reference lib="dom" />
// @ts-check
// The pages' refresh timer.

import { errorText, toast } from "./dom.js";

/**
 * Calls `fn` every `ms` (a number, or a function asked before each wait),
 * skipping ticks while the tab is hidden, and never overlapping: the next
 * wait starts when `fn` settles. A failure is shown as a toast (an abort
 * silently) and the timer goes on. Returns the function that stops it.
 * @param {number | (() => number)} ms
 * @param {() => unknown} fn
 * @returns {() => void}
 */
export function every(ms, fn) {
  let stopped = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const schedule = () => {
    if (!stopped) {
      timer = setTimeout(tick, typeof ms === "function" ? ms() : ms);
    }
  };
  const tick = async () => {
    if (stopped) return;
    if (!document.hidden) {
      try {
        await fn();
      } catch (error) {
        if (!(error instanceof Error && error.name === "AbortError")) {
          toast(errorText(error), "error");
        }
      }
    }
    schedule();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

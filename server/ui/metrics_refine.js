/// <reference lib="dom" />
// @ts-check
// Bringing the explorer's visible lines to pixel resolution by itself: for
// a target (the whole series or a zoomed range, at the plot's width, on an
// axis), the lines not yet read for it are read by pages of their search,
// a few at a time, as soon as they are known (even while the previews of
// the others are arriving); then one by one those a page missed. A new
// target aborts every read of the old one: the newest view wins.

import { needsRead } from "./metrics_lines.js";
import {
  PAGE,
  PARALLEL,
  PARALLEL_READS,
  readLine,
  readPage,
  readsByPage,
} from "./metrics_search.js";

/** @import { Line } from "./metrics_lines.js" */
/** @import { ReadTarget } from "./metrics_search.js" */
/** @import { Points } from "./series_draw.js" */

/**
 * What the refiner needs from the explorer.
 * @typedef {object} RefinerHooks
 * @property {() => string | null} query  The search that found the lines.
 * @property {() => Line[]} visible  The lines the chart shows now.
 * @property {() => Line[]} all  Every line found so far.
 * @property {() => boolean} loading  Previews are still being read: one
 *   page at a time is read meanwhile, so that the server's other query
 *   Worker answers them.
 * @property {(line: Line, points: Points, target: ReadTarget) => void} onRead
 *   A line's points for the target.
 * @property {(busy: boolean) => void} onBusy  Reads started, or all ended.
 * @property {(error: unknown) => void} onError  A read failed (once per
 *   target: others then fail silently, and their lines stay as they are).
 */

/** The explorer's reads at pixel resolution. */
export class Refiner {
  #hooks;
  /** @type {ReadTarget | null} */
  #target = null;
  #abort = new AbortController();
  /** Pages asked for the target, by number: true once answered. */
  /** @type {Map<number, boolean>} */
  #pages = new Map();
  /** Lines asked one by one for the target, by key. */
  /** @type {Set<string>} */
  #asked = new Set();
  #linesReading = 0;
  /** Reads of lines not found yet (their previews are still coming), by key. */
  /** @type {Map<string, Points>} */
  #ahead = new Map();
  #failed = false;
  #busy = false;

  /** @param {RefinerHooks} hooks */
  constructor(hooks) {
    this.#hooks = hooks;
  }

  /**
   * Whether reads are under way.
   * @returns {boolean}
   */
  get busy() {
    return this.#busy;
  }

  /**
   * Reads for `target` from now on (null: none); the reads for the last one
   * are aborted.
   * @param {ReadTarget | null} target
   */
  restart(target) {
    this.#abort.abort();
    this.#abort = new AbortController();
    this.#target = target;
    this.#pages = new Map();
    this.#asked = new Set();
    this.#linesReading = 0;
    this.#ahead = new Map();
    this.#failed = false;
    this.pump();
  }

  /** Aborts every read. */
  stop() {
    this.restart(null);
  }

  /**
   * Lines just found: those whose page was read ahead of them get their
   * points now.
   * @param {Line[]} lines
   */
  found(lines) {
    const target = this.#target;
    if (target === null) return;
    for (const line of lines) {
      const points = this.#ahead.get(line.key);
      if (points !== undefined) this.#hooks.onRead(line, points, target);
    }
  }

  /**
   * Starts reads for the visible lines not at pixel resolution for the
   * target, up to {@link PARALLEL} pages or {@link PARALLEL_READS} lines at
   * once; reports through `onBusy` when the first starts and the last ends.
   */
  pump() {
    const target = this.#target, q = this.#hooks.query();
    if (target !== null && q !== null) {
      const byPage = readsByPage(target);
      const pages = this.#hooks.loading() ? 1 : PARALLEL;
      for (const line of this.#hooks.visible()) {
        if (!needsRead(line, target.view, target.zoom, target.points)) continue;
        const page = Math.floor(line.index / PAGE);
        const answered = this.#pages.get(page);
        if (byPage && answered === undefined) {
          if (this.#pagesReading() < pages) this.#readPage(q, page, target);
        } else if ((!byPage || answered) && !this.#asked.has(line.key)) {
          if (this.#linesReading < PARALLEL_READS) this.#readLine(line, target);
        }
      }
    }
    const busy = this.#pagesReading() + this.#linesReading > 0;
    if (busy !== this.#busy) {
      this.#busy = busy;
      this.#hooks.onBusy(busy);
    }
  }

  /**
   * @param {string} q
   * @param {number} page
   * @param {ReadTarget} target
   */
  #readPage(q, page, target) {
    const signal = this.#abort.signal;
    this.#pages.set(page, false);
    readPage(q, page, target, signal)
      .then((found) => {
        if (signal.aborted) return;
        const lines = new Map(this.#hooks.all().map((l) => [l.key, l]));
        for (const [key, points] of found) {
          const line = lines.get(key);
          if (typeof points === "string") {
            // A run file that cannot be read: its line keeps its preview.
            if (line) this.#asked.add(key);
          } else if (line) this.#hooks.onRead(line, points, target);
          else this.#ahead.set(key, points);
        }
      })
      .catch((error) => {
        if (signal.aborted) return;
        // Its lines are not read one by one: they would fail alike.
        for (const line of this.#hooks.all()) {
          if (Math.floor(line.index / PAGE) === page) this.#asked.add(line.key);
        }
        this.#fail(error);
      })
      .finally(() => {
        if (signal.aborted) return;
        this.#pages.set(page, true);
        this.pump();
      });
  }

  /**
   * @param {Line} line
   * @param {ReadTarget} target
   */
  #readLine(line, target) {
    const signal = this.#abort.signal;
    this.#asked.add(line.key);
    this.#linesReading++;
    readLine(line, target, signal)
      .then((points) => {
        if (!signal.aborted && points) this.#hooks.onRead(line, points, target);
      })
      .catch((error) => signal.aborted || this.#fail(error))
      .finally(() => {
        if (signal.aborted) return;
        this.#linesReading--;
        this.pump();
      });
  }

  /** @param {unknown} error */
  #fail(error) {
    if (this.#failed) return;
    this.#failed = true;
    this.#hooks.onError(error);
  }

  #pagesReading() {
    let n = 0;
    for (const answered of this.#pages.values()) if (!answered) n++;
    return n;
  }
}

// @ts-check
// The lines of a run's log that the run page holds: a contiguous stretch
// of the log in time order, numbered, kept right while a live run's log
// grows. Lines arrive out of time order (a client's line comes after
// output written later), so a line read since the last read may belong
// before the stretch (every number moves down by one), inside it (it is
// put in its place), or after it.
// Pure: no DOM, so `deno test` imports it.

/** @import { LogLine, LogPage } from "./api_types.js" */

/**
 * Whether line `a` comes before line `b`: by time, then by storage order.
 * @param {LogLine} a
 * @param {LogLine} b
 * @returns {boolean}
 */
export function before(a, b) {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/**
 * A stretch of a run's log: `lines` in time order, the first numbered
 * `first`; `lastSeq` is the last stored line any read has covered.
 */
export class LogWindow {
  /** @type {LogLine[]} */
  lines = [];
  /** The number of the first line (1 + the lines before the stretch). */
  first = 1;
  /** Lines in the log, as last read. */
  total = 0;
  /** Every line stored up to this `seq` is placed (shown, or counted before or after). */
  lastSeq = 0;
  /** Whether the stretch reaches the end of the log. */
  atEnd = true;
  /** @type {Set<number>} */
  #seqs = new Set();

  /**
   * Starts over from a page read by position (its lines are numbered).
   * @param {LogPage} page
   */
  reset(page) {
    this.lines = page.lines.slice();
    this.#seqs = new Set(this.lines.map((line) => line.seq));
    this.first = this.lines[0]?.line ?? page.total + 1;
    this.total = page.total;
    this.lastSeq = page.last_seq;
    this.atEnd = this.first - 1 + this.lines.length >= page.total;
  }

  /**
   * The number of the line at `index`.
   * @param {number} index
   * @returns {number}
   */
  numberAt(index) {
    return this.first + index;
  }

  /**
   * Places the lines of a `since` read (stored after {@link lastSeq}),
   * in the order stored. A line after the stretch is added when the
   * stretch reaches the end and `grow` is set; otherwise the stretch no
   * longer reaches the end.
   * @param {LogPage} page
   * @param {boolean} grow
   * @returns {number[]} The indexes of the lines added, ascending, in `lines` as it is now.
   */
  merge(page, grow) {
    const fresh = page.lines.filter((line) => !this.#seqs.has(line.seq))
      .sort((a, b) => before(a, b) ? -1 : before(b, a) ? 1 : 0);
    /** @type {LogLine[]} */
    const added = [];
    for (const line of fresh) {
      const first = this.lines[0];
      const last = this.lines[this.lines.length - 1];
      if (first !== undefined && before(line, first)) {
        this.first++;
      } else if (last === undefined || before(last, line)) {
        if (this.atEnd && grow) this.#insert(this.lines.length, line, added);
        else this.atEnd = false;
      } else this.#insert(this.#indexOf(line), line, added);
    }
    for (const line of page.lines) {
      this.lastSeq = Math.max(this.lastSeq, line.seq);
    }
    this.total = page.total;
    const set = new Set(added);
    return this.lines.flatMap((line, i) => set.has(line) ? [i] : []);
  }

  /**
   * Puts the lines of a `before` read (the lines just before the first
   * one) in front. Those stored after {@link lastSeq} were not counted
   * before the stretch yet.
   * @param {LogPage} page
   * @returns {number} How many were added.
   */
  prepend(page) {
    const fresh = page.lines.filter((line) => !this.#seqs.has(line.seq));
    const uncounted = fresh.filter((line) => line.seq > this.lastSeq).length;
    for (const line of fresh) this.#seqs.add(line.seq);
    this.lines = [...fresh, ...this.lines];
    this.first += uncounted - fresh.length;
    this.total = page.total;
    return fresh.length;
  }

  /**
   * Puts the lines of an `after` read (the lines just after the last
   * one) at the end.
   * @param {LogPage} page
   * @param {number} limit  The read's limit: fewer lines mean the end.
   * @returns {number} How many were added.
   */
  append(page, limit) {
    const fresh = page.lines.filter((line) => !this.#seqs.has(line.seq));
    for (const line of fresh) this.#seqs.add(line.seq);
    this.lines.push(...fresh);
    this.total = page.total;
    this.atEnd = page.lines.length < limit;
    return fresh.length;
  }

  /**
   * Drops the first lines beyond `max`.
   * @param {number} max
   * @returns {number} How many were dropped.
   */
  trim(max) {
    const drop = Math.max(0, this.lines.length - max);
    for (const line of this.lines.slice(0, drop)) this.#seqs.delete(line.seq);
    this.lines = this.lines.slice(drop);
    this.first += drop;
    return drop;
  }

  /**
   * Where `line` goes among the lines (binary search).
   * @param {LogLine} line
   * @returns {number}
   */
  #indexOf(line) {
    let lo = 0, hi = this.lines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(/** @type {LogLine} */ (this.lines[mid]), line)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * @param {number} index
   * @param {LogLine} line
   * @param {LogLine[]} added
   */
  #insert(index, line, added) {
    this.lines.splice(index, 0, line);
    this.#seqs.add(line.seq);
    added.push(line);
  }
}

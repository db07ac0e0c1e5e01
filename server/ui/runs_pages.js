/// <reference lib="dom" />
// @ts-check
// The runs table's data: the pages of the current search, fetched as the
// table asks for them (a few at once), the farthest from the screen
// dropped, and those on screen fetched again while runs are active.

import { searchRuns } from "./api.js";
import { fetchRunsPage } from "./runs_fetch.js";
import {
  effectiveQuery,
  pageSize,
  pagesOnScreen,
  pagesToDrop,
} from "./runs_model.js";

/** @import { Run, RunPage } from "./api_types.js" */
/** @import { RunsSettings } from "./runs_model.js" */

/** Page requests at once. */
const MAX_INFLIGHT = 2;
/** Without active runs, the rows on screen are fetched again this often at most. */
const IDLE_REFRESH_MS = 15_000;

/**
 * What the pages report to the page that shows them.
 * @typedef {object} PageHooks
 * @property {(answer: RunPage) => void} stored  An answer was stored: its
 *   total, rows and unreadable runs are the latest.
 * @property {() => void} arrived  A page the table asked for arrived.
 * @property {(error: unknown) => void} failed  A page the table asked for failed.
 */

/** The fetched pages of the current search. */
export class RunPages {
  /**
   * Runs matching; null before the first answer of a search.
   * @type {number | null}
   */
  total = null;
  /** How long the last page took to fetch, in milliseconds. */
  fetchMs = 0;
  /** @type {Map<number, Run[]>} */
  #pages = new Map();
  /** @type {Map<number, Promise<void>>} */
  #inflight = new Map();
  /** @type {Set<number>} */
  #wanted = new Set();
  #gen = 0;
  #lastRefresh = 0;
  #settings;
  #hooks;

  /**
   * @param {RunsSettings} settings  Read at each request: the search as it is now.
   * @param {PageHooks} hooks
   */
  constructor(settings, hooks) {
    this.#settings = settings;
    this.#hooks = hooks;
  }

  /**
   * Rows per page for the current sort.
   * @returns {number}
   */
  get size() {
    return pageSize(this.#settings.sort);
  }

  /**
   * Page `p`, when loaded.
   * @param {number} p
   * @returns {Run[] | undefined}
   */
  page(p) {
    return this.#pages.get(p);
  }

  /**
   * The loaded rows, in table order.
   * @returns {Run[]}
   */
  loaded() {
    return [...this.#pages.entries()].sort((a, b) => a[0] - b[0]).flatMap((
      [, rows],
    ) => rows);
  }

  /**
   * Forgets every page for a new search; answers to older ones are dropped.
   * @returns {number}  The new search's generation, for {@link isCurrent}.
   */
  reset() {
    this.#gen++;
    this.total = null;
    this.#pages.clear();
    this.#inflight.clear();
    return this.#gen;
  }

  /**
   * Whether `gen` is still the current search.
   * @param {number} gen
   * @returns {boolean}
   */
  isCurrent(gen) {
    return gen === this.#gen;
  }

  /** Drops every answer still to come: the page is gone. */
  stop() {
    this.#gen++;
  }

  /**
   * Fetches and stores the first page of search `gen`, which gives the total.
   * @param {number} gen
   * @returns {Promise<boolean>}  False when a newer search started meanwhile.
   */
  async loadFirst(gen) {
    const answer = await this.#fetch(0, gen, null);
    if (answer === null) return false;
    this.#store(0, answer);
    this.#lastRefresh = Date.now();
    return true;
  }

  /**
   * Fetches `pages` that are not loaded, in order, at most
   * {@link MAX_INFLIGHT} at once (pages asked for before and not started
   * yet are forgotten); drops the pages farthest from page `current`.
   * @param {number[]} pages
   * @param {number} current
   */
  want(pages, current) {
    this.#wanted.clear();
    for (const p of pages) this.#wanted.add(p);
    if (this.#wanted.size > 0) this.#pump();
    for (const p of pagesToDrop(this.#pages.keys(), current)) {
      this.#pages.delete(p);
    }
  }

  /**
   * Fetches again the pages on screen (rows `top` to `top + height` in
   * pixels); the others are dropped and fetched again when needed. Without
   * `force`, only while a loaded run is active, or after
   * {@link IDLE_REFRESH_MS}.
   * @param {boolean} force
   * @param {number} top
   * @param {number} height
   * @returns {Promise<RunPage | null>}  The last page fetched, or null when
   *   nothing was (or a newer search started).
   */
  async refresh(force, top, height) {
    if (this.total === null) return null;
    const rows = [...this.#pages.values()].flat();
    const active = rows.some((r) =>
      r.live || !r.indexed || r.status === "running"
    );
    if (!force && !active && Date.now() - this.#lastRefresh < IDLE_REFRESH_MS) {
      return null;
    }
    const gen = this.#gen;
    const [firstPage, lastPage] = pagesOnScreen(
      top,
      height,
      this.total,
      this.size,
    );
    /** @type {Map<number, Run[]>} */
    const fresh = new Map();
    /** @type {number | null} */
    let total = null;
    // Newest first needs the new total before it can place pages.
    if (this.#settings.sort === "") {
      const q = effectiveQuery(this.#settings);
      total = (await searchRuns({ q, limit: 0 })).total;
    }
    if (gen !== this.#gen) return null;
    /** @type {RunPage | null} */
    let last = null;
    for (let p = firstPage; p <= lastPage; p++) {
      const answer = await this.#fetch(p, gen, total ?? this.total);
      if (answer === null) return null;
      fresh.set(p, answer.runs);
      last = answer;
    }
    if (last === null) return null;
    this.total = last.total;
    this.#pages = fresh;
    this.#hooks.stored(last);
    this.#lastRefresh = Date.now();
    return last;
  }

  /**
   * Fetches page `p` of search `gen`; null when a newer search has started
   * meanwhile.
   * @param {number} p
   * @param {number} gen
   * @param {number | null} total  Null for the first page of a search.
   * @returns {Promise<RunPage | null>}
   */
  async #fetch(p, gen, total) {
    const start = performance.now();
    const answer = await fetchRunsPage({
      q: effectiveQuery(this.#settings),
      sort: this.#settings.sort,
      page: p,
      size: this.size,
      total,
    });
    this.fetchMs = performance.now() - start;
    return gen === this.#gen ? answer : null;
  }

  /**
   * @param {number} p
   * @param {RunPage} answer
   */
  #store(p, answer) {
    if (this.total !== answer.total) {
      // Rows moved: everything but this page is stale.
      if (this.total !== null) this.#pages.clear();
      this.total = answer.total;
    }
    this.#pages.set(p, answer.runs);
    this.#hooks.stored(answer);
  }

  #pump() {
    const gen = this.#gen;
    for (const p of this.#wanted) {
      if (this.#inflight.size >= MAX_INFLIGHT) return;
      if (
        this.#pages.has(p) || this.#inflight.has(p) || this.total === null
      ) continue;
      this.#wanted.delete(p);
      /** @type {Promise<void>} */
      const promise = this.#fetch(p, gen, this.total).then((answer) => {
        if (answer === null) return;
        this.#store(p, answer);
        this.#hooks.arrived();
      }).catch((error) => {
        if (gen === this.#gen) this.#hooks.failed(error);
      }).finally(() => {
        if (this.#inflight.get(p) === promise) this.#inflight.delete(p);
        if (gen === this.#gen) this.#pump();
      });
      this.#inflight.set(p, promise);
    }
  }
}

/// <reference lib="dom" />
// @ts-check
// The runs table, virtualised: a header of columns, and only the rows on
// screen (and a few beyond) in the DOM, placed in a spacer as tall as every
// row. Rows whose page is not loaded show as placeholders until it comes.

import { h } from "./dom.js";
import {
  nextSort,
  pageAhead,
  ROW,
  rowWindow,
  sortArrow,
} from "./runs_model.js";

/** @import { Run } from "./api_types.js" */
/** @import { Column } from "./runs_columns.js" */

/**
 * Where the table's rows come from, and what it reports.
 * @typedef {object} RowSource
 * @property {() => number} total  Rows in the table.
 * @property {() => number} pageSize
 * @property {(page: number) => Run[] | undefined} page  A loaded page.
 * @property {(hash: string) => boolean} isSelected
 * @property {(pages: number[], current: number) => void} want  Pages to
 *   fetch, those on screen first; `current` is the page at the top.
 * @property {(loaded: number) => void} rendered  After each render, with the
 *   loaded rows on screen.
 * @property {(box: HTMLInputElement, event: MouseEvent) => void} check  A
 *   row's selection box was clicked.
 */

/** The virtual table of runs. */
export class RunTable {
  /** The table (the scrolling element). */
  element;
  #header;
  #spacer;
  #empty;
  #source;
  /** @type {Column[]} */
  #columns = [];
  /** @type {Map<number, { el: HTMLElement, run: Run | null }>} */
  #rendered = new Map();
  #lastTop = 0;
  #frame = 0;

  /** @param {RowSource} source */
  constructor(source) {
    this.#source = source;
    this.#header = h("div.vt-head");
    this.#spacer = h("div.vt-spacer");
    this.#empty = h("p.empty.vt-empty", { hidden: true });
    this.element = h(
      "div.vt",
      { tabindex: "0" },
      this.#header,
      h("div.vt-body", {}, this.#spacer, this.#empty),
    );
    this.element.addEventListener("scroll", () => this.schedule(), {
      passive: true,
    });
    this.#spacer.addEventListener("click", (event) => {
      const box = event.target instanceof Element
        ? event.target.closest('input[type="checkbox"][data-hash]')
        : null;
      if (box instanceof HTMLInputElement) source.check(box, event);
    });
  }

  /**
   * Shows `columns`, their header arrows for `sort`; a click on a sortable
   * header calls `onSort` with the next sort. Rebuilds every row.
   * @param {Column[]} columns
   * @param {string} sort
   * @param {(sort: string) => void} onSort
   */
  setColumns(columns, sort, onSort) {
    this.#columns = columns;
    const style = this.element.style;
    style.setProperty("--cols", columns.map((c) => `${c.width}px`).join(" "));
    const width = columns.reduce((a, c) => a + c.width, 0);
    style.setProperty("--row-width", `${width}px`);
    this.#header.replaceChildren(...columns.map((c) => {
      const cell = h(
        `div.vt-th${c.sort ? ".sortable" : ""}${c.cls ? `.${c.cls}` : ""}`,
        { title: c.sort ? `sort by ${c.sort}` : "", dataset: { key: c.key } },
      );
      const arrow = sortArrow(sort, c);
      cell.append(h("span", { text: c.title }));
      if (arrow) cell.append(h("span.arrow", { text: arrow }));
      if (c.sort) {
        cell.addEventListener("click", () => onSort(nextSort(sort, c)));
      }
      return cell;
    }));
    this.render(true);
  }

  /**
   * Makes room for `total` rows.
   * @param {number} total
   */
  setHeight(total) {
    this.#spacer.style.height = `${total * ROW}px`;
  }

  /**
   * Shows `text` where the rows would be, or hides it (null).
   * @param {string | null} text
   */
  setEmpty(text) {
    this.#empty.hidden = text === null;
    this.#empty.textContent = text ?? "";
  }

  /** Renders on the next animation frame (once, however often it is asked). */
  schedule() {
    if (!this.#frame) {
      this.#frame = requestAnimationFrame(() => {
        this.#frame = 0;
        this.render(false);
      });
    }
  }

  /**
   * Renders the rows on screen, and asks for the pages they need and the
   * one ahead in the direction of the scroll.
   * @param {boolean} all  Rebuild every row (columns or selection changed).
   */
  render(all) {
    const source = this.#source;
    if (all) {
      for (const { el } of this.#rendered.values()) el.remove();
      this.#rendered.clear();
    }
    const total = source.total();
    const top = this.element.scrollTop;
    const height = this.element.clientHeight || 600;
    const [first, last] = rowWindow(top, height, total);
    for (const [i, item] of this.#rendered) {
      if (i < first || i >= last) {
        item.el.remove();
        this.#rendered.delete(i);
      }
    }
    const size = source.pageSize();
    /** @type {Set<number>} */
    const missing = new Set();
    let loaded = 0;
    for (let i = first; i < last; i++) {
      const run = source.page(Math.floor(i / size))?.[i % size] ?? null;
      if (run === null) missing.add(Math.floor(i / size));
      else loaded++;
      const item = this.#rendered.get(i);
      if (item && item.run === run) continue;
      const el = this.#row(i, run);
      if (item) item.el.replaceWith(el);
      else this.#spacer.append(el);
      this.#rendered.set(i, { el, run });
    }
    const ahead = pageAhead(first, last, size, top >= this.#lastTop);
    this.#lastTop = top;
    const next = [...missing];
    if (ahead * size < total && !missing.has(ahead)) next.push(ahead);
    source.want(next, Math.floor(first / size));
    this.element.dataset.rows = String(total);
    source.rendered(loaded);
  }

  /**
   * Marks the rendered rows of the selected runs.
   * @param {(hash: string) => boolean} isSelected
   */
  markSelected(isSelected) {
    for (const { el } of this.#rendered.values()) {
      el.classList.toggle("selected", isSelected(el.dataset.hash ?? ""));
    }
  }

  /**
   * Row `i`: the run's cells, or a placeholder while its page loads.
   * @param {number} i
   * @param {Run | null} run
   * @returns {HTMLElement}
   */
  #row(i, run) {
    const el = h("div.vt-row", {
      style: { transform: `translateY(${i * ROW}px)` },
    });
    if (run === null) {
      el.classList.add("placeholder");
      el.append(h("div.vt-td", { text: "…" }));
      return el;
    }
    el.dataset.hash = run.hash;
    el.dataset.loaded = "true";
    if (run.archived) el.classList.add("archived");
    if (this.#source.isSelected(run.hash)) el.classList.add("selected");
    for (const c of this.#columns) {
      const value = c.cell(run);
      const td = h(`div.vt-td${c.cls ? `.${c.cls}` : ""}`);
      if (typeof value === "string") {
        td.textContent = value;
        td.title = value;
      } else td.append(...[value].flat());
      el.append(td);
    }
    return el;
  }
}

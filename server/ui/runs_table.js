/// <reference lib="dom" />
// @ts-check
// The runs table, virtualised: a header of columns, and only the rows on
// screen (and a few beyond) in the DOM, placed in a spacer as tall as every
// row. Rows whose page is not loaded show as placeholders until it comes.
// Columns are fitted to what they show once the first rows are on screen:
// a header wraps between the parts of a param path rather than being cut,
// and the selection and name columns stay in view when the table scrolls
// sideways.

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

/** A cell's padding, left and right (style.css, .vt-td and .vt-th). */
const CELL_PADDING = 16;
/** The widest a column grows when the table has room to spare. */
const MAX_COMFORTABLE = 1000;
/** Room for a header's sort arrow. */
const ARROW = 16;

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
  /** Whether the columns were fitted to rows shown since they were set. */
  #fitted = false;
  /** @type {number[]} */
  #widths = [];
  /**
   * What each fitted column needs: its narrowest (header wrapped) and
   * its header on one line.
   * @type {{ least: number, comfortable: number }[]}
   */
  #needs = [];

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
    this.#fitted = false;
    this.#needs = [];
    this.#header.replaceChildren(...columns.map((c) => {
      const cell = h(
        `div.vt-th${c.sort ? ".sortable" : ""}${c.cls ? `.${c.cls}` : ""}`,
        { title: c.sort ? `sort by ${c.sort}` : "", dataset: { key: c.key } },
      );
      const arrow = sortArrow(sort, c);
      cell.append(c.header ?? h("span.title", {}, breakable(c.title)));
      if (arrow) cell.append(h("span.arrow", { text: arrow }));
      if (c.sort) {
        cell.addEventListener("click", () => onSort(nextSort(sort, c)));
      }
      return cell;
    }));
    this.#setWidths(columns.map((c) => c.width));
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
    if (!this.#fitted && loaded > 0) this.#fit();
    source.rendered(loaded);
  }

  /**
   * Fits each column to its header's longest word and the widest of its
   * cells on screen, within its bounds: once per set of columns, so that
   * scrolling never moves them.
   */
  #fit() {
    this.#fitted = true;
    const cells = [...this.#rendered.values()]
      .filter(({ run }) => run !== null)
      .map(({ el }) => [...el.children]);
    const heads = [...this.#header.children];
    // One layout with every cell as wide as its content, read at once.
    this.element.classList.add("measuring");
    const natural = cells.map((row) =>
      row.map((cell) => cell.getBoundingClientRect().width)
    );
    this.element.classList.remove("measuring");
    // A header sits over its numbers when the column shows only numbers.
    heads.forEach((head, i) => {
      if (
        cells.length > 0 &&
        cells.every((row) => row[i]?.classList.contains("num"))
      ) {
        head.classList.add("num");
      }
    });
    this.#needs = this.#columns.map((c, i) => {
      const head = heads[i];
      let least = head ? headerWidth(head) : 0;
      let comfortable = head ? headerWidth(head, true) : 0;
      for (const row of natural) {
        least = Math.max(least, row[i] ?? 0);
        comfortable = Math.max(comfortable, row[i] ?? 0);
      }
      /** @param {number} w @param {number} max */
      const bound = (w, max) =>
        Math.min(max, Math.max(c.min ?? 48, Math.ceil(w)));
      // Beyond its bound only with room to spare: a long command reads whole.
      const fitted = bound(least, c.max ?? 360);
      return {
        least: fitted,
        comfortable: Math.max(fitted, bound(comfortable, MAX_COMFORTABLE)),
      };
    });
    this.refit();
  }

  /**
   * Sizes the fitted columns for the table's width now: each at least as
   * wide as its longest header word and its cells (within its bounds),
   * and, as far as the width allows, wide enough for its header on one
   * line and its widest cell.
   */
  refit() {
    const needs = this.#needs;
    if (needs.length !== this.#columns.length) return;
    const least = needs.reduce((a, n) => a + n.least, 0);
    const wish = needs.reduce((a, n) => a + n.comfortable - n.least, 0);
    const room = Math.max(0, this.element.clientWidth - least);
    const share = wish > 0 ? Math.min(1, room / wish) : 0;
    this.#setWidths(
      needs.map((n) => Math.floor(n.least + (n.comfortable - n.least) * share)),
    );
    for (const { el } of this.#rendered.values()) this.#pin(el);
  }

  /** @param {number[]} widths */
  #setWidths(widths) {
    this.#widths = widths;
    const style = this.element.style;
    style.setProperty("--cols", widths.map((w) => `${w}px`).join(" "));
    style.setProperty(
      "--row-width",
      `${widths.reduce((a, w) => a + w, 0)}px`,
    );
    this.#pin(this.#header);
  }

  /**
   * Places the pinned cells of a row (or the header) where they stick.
   * @param {HTMLElement} row
   */
  #pin(row) {
    let left = 0;
    this.#columns.forEach((c, i) => {
      const cell = /** @type {HTMLElement | undefined} */ (row.children[i]);
      if (c.pinned && cell) {
        cell.classList.add("pin");
        cell.style.left = `${left}px`;
      }
      left += this.#widths[i] ?? c.width;
    });
  }

  /**
   * Marks the rendered rows of the selected runs.
   * @param {(hash: string) => boolean} isSelected
   */
  markSelected(isSelected) {
    for (const { el } of this.#rendered.values()) {
      const selected = isSelected(el.dataset.hash ?? "");
      el.classList.toggle("selected", selected);
      const box = el.querySelector("input[type=checkbox][data-hash]");
      if (box instanceof HTMLInputElement) box.checked = selected;
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
      const extra = c.cellClass?.(run);
      if (extra) td.classList.add(extra);
      if (typeof value === "string") {
        td.textContent = value;
        td.title = value;
      } else td.append(...[value].flat());
      el.append(td);
    }
    this.#pin(el);
    return el;
  }
}

/**
 * A header title that may wrap after the dots of a param path and the
 * signs of a context (at spaces as any text), never inside a name.
 * @param {string} title
 * @returns {(string | HTMLElement)[]}
 */
function breakable(title) {
  return title.split(/(?<=[.=,])/).flatMap((part, i) =>
    i === 0 ? [part] : [h("wbr"), part]
  );
}

/**
 * The width a header needs: its longest unbreakable piece (or, `whole`,
 * all of it on one line; its content when it is not text), its padding and
 * its sort arrow.
 * @param {Element} head
 * @param {boolean} [whole]
 * @returns {number}
 */
function headerWidth(head, whole = false) {
  const title = head.querySelector(".title");
  if (title === null) {
    const range = document.createRange();
    range.selectNodeContents(head);
    return range.getBoundingClientRect().width + CELL_PADDING;
  }
  measurer ??= /** @type {CanvasRenderingContext2D} */ (
    document.createElement("canvas").getContext("2d")
  );
  const context = measurer;
  const style = getComputedStyle(title);
  context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const text = title.textContent ?? "";
  const words = whole ? [text] : text.split(/(?<=[.=,])| /);
  const widest = Math.max(0, ...words.map((w) => context.measureText(w).width));
  return widest + CELL_PADDING + ARROW + 1;
}

/**
 * Measures header text (made on first use).
 * @type {CanvasRenderingContext2D | null}
 */
let measurer = null;

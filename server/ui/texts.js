/// <reference lib="dom" />
// @ts-check
// The texts explorer: per matching sequence, a table of its texts by step
// (step, epoch, caption, text), a page at a time, and a search that the
// server runs over every text (case-insensitive), its matches marked. A
// table reads its texts only once it is near the screen.

import { errorText, fill, h, toast } from "./dom.js";
import { readSequence } from "./objects_api.js";
import { splitMatches } from "./objects_model.js";
import {
  mountObjectsPage,
  saveSetting,
  sequenceHead,
  SequencePages,
  setting,
} from "./objects_page.js";
import { debounce } from "./tasks.js";

/** @import { SequenceMatch, StoredObject } from "./objects_api.js" */

/** Sequences asked for per page of the search. */
const PAGE = 20;
/** Shown when no run has texts. */
const EMPTY =
  "No texts yet: track them with run.track(Text(…)) in Python, a text line of aim track, or new Text() in TypeScript.";
/** Texts per page of a table. */
const ROWS = 50;

/**
 * Mounts the explorer in `root`; returns its unmount function.
 * @param {HTMLElement} root
 * @returns {() => void}
 */
export function mount(root) {
  return mountObjectsPage(root, {
    kind: "texts",
    placeholder: 'texts.name == "samples" and run.experiment == "lm"',
    create: (box, q) => new TextsView(box, { q, own: true }),
  });
}

/**
 * A table's state: its sequence and the pages read.
 * @typedef {object} Table
 * @property {SequenceMatch} match
 * @property {HTMLElement} card
 * @property {HTMLTableSectionElement} body
 * @property {HTMLElement} foot
 * @property {number} read  Texts shown.
 * @property {number} total  Texts matching the search.
 * @property {boolean} seen
 */

/** Tables of the text sequences a query matches, with a search over the texts. */
export class TextsView {
  /** @type {HTMLElement} */
  controls;
  #own;
  #showRun;
  #abort = new AbortController();
  #pages;
  /** Aborted when the search changes. */
  #searching = new AbortController();
  #observer;
  #sentinel = h("div.grid-end");
  #status = h("span.count", { role: "status" });
  #list = h("div.text-list");
  /** @type {Table[]} */
  #tables = [];
  #search = h("input.text-search", {
    type: "search",
    placeholder: "search the texts",
    "aria-label": "Search the texts",
  });

  /**
   * @param {HTMLElement} box
   * @param {{ q: string, own?: boolean, showRun?: boolean }} options
   */
  constructor(box, { q, own = false, showRun = true }) {
    this.#own = own;
    this.#showRun = showRun;
    this.#pages = new SequencePages("texts", q, PAGE, this.#abort.signal);
    this.#search.value = (own ? setting("search") : null) ?? "";
    const again = debounce(() => {
      saveSetting("search", this.#search.value, this.#own);
      this.#searching.abort();
      this.#searching = new AbortController();
      for (const table of this.#tables) {
        table.read = 0;
        table.body.replaceChildren();
        if (table.seen) this.#page(table);
      }
    }, 250);
    this.#search.addEventListener("input", again);
    this.controls = h(
      "div.toolbar",
      {},
      this.#status,
      h("span.spacer"),
      this.#search,
    );
    this.#observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        if (entry.target === this.#sentinel) {
          this.#more();
          continue;
        }
        const table = this.#tables.find((t) => t.card === entry.target);
        if (table && !table.seen) {
          table.seen = true;
          this.#observer.unobserve(table.card);
          this.#page(table);
        }
      }
    }, { rootMargin: "300px 0px" });
    box.append(this.#list, this.#sentinel);
    this.#observer.observe(this.#sentinel);
    this.#more();
  }

  async #more() {
    const page = await this.#pages.next();
    if (page === null) return;
    if (!this.#pages.showCount(this.#status, this.#list, EMPTY)) return;
    const added = page.sequences;
    for (const match of added) this.#list.append(this.#table(match));
  }

  /**
   * @param {SequenceMatch} match
   * @returns {HTMLElement}
   */
  #table(match) {
    const { run, sequence } = match;
    const body = h("tbody");
    const foot = h("div.text-foot");
    const card = h(
      "div.text-card.panel",
      { dataset: { run: run.hash, sequence: sequence.name } },
      sequenceHead(match, this.#showRun),
      h(
        "table.text-table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { text: "step" }),
            h("th", { text: "epoch" }),
            h("th", { text: "caption" }),
            h("th", { text: "text" }),
          ),
        ),
        body,
      ),
      foot,
    );
    /** @type {Table} */
    const table = {
      match,
      card,
      body,
      foot,
      read: 0,
      total: 0,
      seen: false,
    };
    this.#tables.push(table);
    this.#observer.observe(card);
    return card;
  }

  /**
   * Reads a table's next page and appends it.
   * @param {Table} table
   */
  async #page(table) {
    const { run, sequence } = table.match;
    const search = this.#search.value;
    const signal = this.#searching.signal;
    try {
      const page = await readSequence(
        run.hash,
        "texts",
        sequence.name,
        sequence.context,
        { offset: table.read, limit: ROWS, search },
        signal,
      );
      if (signal.aborted) return;
      table.total = page.total;
      table.read += page.objects.length;
      table.body.append(...page.objects.map((o) => textRow(o, search)));
      fill(
        table.foot,
        h("span.muted", {
          text: `${table.read.toLocaleString("en-US")} of ${
            table.total.toLocaleString("en-US")
          } texts${search ? ` matching ${JSON.stringify(search)}` : ""}`,
        }),
        table.read < table.total
          ? h("button", { text: "More", onclick: () => this.#page(table) })
          : null,
      );
    } catch (error) {
      if (!signal.aborted && !this.#abort.signal.aborted) {
        toast(errorText(error), "error");
      }
    }
  }

  destroy() {
    this.#abort.abort();
    this.#searching.abort();
    this.#observer.disconnect();
  }
}

/**
 * @param {StoredObject} o
 * @param {string} search
 */
function textRow(o, search) {
  const parts = splitMatches(o.text ?? "", search);
  return h(
    "tr",
    {},
    h("td.num", { text: String(o.step ?? "") }),
    h("td.num", { text: o.epoch === null ? "" : String(o.epoch ?? "") }),
    h("td", { text: o.caption ?? "" }),
    h(
      "td.text",
      {},
      parts.map((part, i) => i % 2 ? h("mark", { text: part }) : part),
    ),
  );
}

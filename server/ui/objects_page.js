/// <reference lib="dom" />
// @ts-check
// The frame the images, distributions and texts explorers share: a query
// box checked as it is typed, the query kept in the address (?q=), and a
// view of the matching sequences that the page module makes. The run page
// makes the same views for one run, without this frame. Their views share
// the reading of the matching sequences a page at a time.

import { checkQueryAnswer } from "./api.js";
import { errorText, h, toast } from "./dom.js";
import { searchSequences } from "./objects_api.js";
import { fmtContext } from "./format.js";
import { checkAsYouType, showQueryProblem } from "./query_problem.js";
import { link } from "./urls.js";

/** @import { Child } from "./dom.js" */
/** @import { SequenceKind, SequenceMatch, SequencePage } from "./objects_api.js" */

/**
 * What an explorer's view offers its frame.
 * @typedef {object} ObjectsView
 * @property {HTMLElement} controls  Shown under the query box.
 * @property {() => void} destroy
 */

/**
 * Mounts an explorer of sequences of `kind` in `root`; returns its unmount
 * function. `create` makes the view for a query (again for each search).
 * @param {HTMLElement} root
 * @param {object} options
 * @param {SequenceKind} options.kind
 * @param {string} options.placeholder  An example query.
 * @param {(box: HTMLElement, q: string) => ObjectsView} options.create
 * @returns {() => void}
 */
export function mountObjectsPage(root, { kind, placeholder, create }) {
  const input = h("input.query", {
    type: "text",
    value: new URLSearchParams(location.search).get("q") ?? "",
    spellcheck: false,
    autocomplete: "off",
    placeholder,
    "aria-label": `Query of ${kind}`,
  });
  const errorBox = h("div.query-error", { hidden: true, role: "alert" });
  const controls = h("div.objects-controls");
  const box = h("div.objects-view");
  root.append(
    h(
      `section.objects-page.${kind}-page`,
      {},
      h(
        "form.querybar",
        { onsubmit: (/** @type {Event} */ e) => (e.preventDefault(), apply()) },
        input,
        h("button.primary", { type: "submit", text: "Search" }),
      ),
      errorBox,
      controls,
      box,
    ),
  );
  checkAsYouType(input, errorBox, kind);

  /** @type {ObjectsView | null} */
  let view = null;
  let gen = 0;

  async function apply() {
    const id = ++gen;
    const q = input.value.trim();
    const address = new URL(location.href);
    if (q) address.searchParams.set("q", q);
    else address.searchParams.delete("q");
    history.replaceState(null, "", address.href);
    try {
      const answer = await checkQueryAnswer(q, { kind });
      if (id !== gen) return;
      if (!answer.ok) {
        showQueryProblem(errorBox, answer, q);
        return;
      }
      errorBox.hidden = true;
    } catch (error) {
      toast(errorText(error), "error");
      return;
    }
    view?.destroy();
    box.replaceChildren();
    view = create(box, q);
    controls.replaceChildren(view.controls);
  }

  apply();
  return () => {
    gen++;
    view?.destroy();
  };
}

/**
 * The settings a view keeps in the address besides the query, read once.
 * @param {string} key
 * @returns {string | null}
 */
export function setting(key) {
  return new URLSearchParams(location.search).get(key);
}

/**
 * Keeps a view's setting in the address (replacing the entry): null or ""
 * removes it. Does nothing on pages that are not the explorer's own.
 * @param {string} key
 * @param {string | null} value
 * @param {boolean} own  Whether the view is its explorer's page.
 */
export function saveSetting(key, value, own) {
  if (!own) return;
  const address = new URL(location.href);
  if (value === null || value === "") address.searchParams.delete(key);
  else address.searchParams.set(key, value);
  history.replaceState(null, "", address.href);
}

/** The sequences of a kind that a query matches, read a page at a time. */
export class SequencePages {
  /** @type {SequenceMatch[]} The sequences read so far, in order. */
  matches = [];
  /** How many sequences match in all (0 until a page is read). */
  total = 0;
  #kind;
  #q;
  #limit;
  #signal;
  #loading = false;

  /**
   * @param {SequenceKind} kind
   * @param {string} q
   * @param {number} limit  Sequences asked for per page.
   * @param {AbortSignal} signal  Stops the reading; a failure once it is
   *   aborted is not told.
   */
  constructor(kind, q, limit, signal) {
    this.#kind = kind;
    this.#q = q;
    this.#limit = limit;
    this.#signal = signal;
  }

  /**
   * Reads the next page when there is one and no page is being read; a
   * failure is told in a toast.
   * @returns {Promise<SequencePage | null>} The page read; null when none was.
   */
  async next() {
    if (this.#loading) return null;
    if (this.matches.length > 0 && this.matches.length >= this.total) {
      return null;
    }
    this.#loading = true;
    try {
      const page = await searchSequences({
        kind: this.#kind,
        q: this.#q,
        limit: this.#limit,
        offset: this.matches.length,
        signal: this.#signal,
      });
      this.matches.push(...page.sequences);
      this.total = page.total;
      return page;
    } catch (error) {
      if (!this.#signal.aborted) toast(errorText(error), "error");
      return null;
    } finally {
      this.#loading = false;
    }
  }

  /**
   * Shows in `status` how many sequences match; with none, in `list` that
   * none matches the query or, without a query, `empty`.
   * @param {HTMLElement} status
   * @param {HTMLElement} list
   * @param {string} empty  What to do to have sequences of this kind.
   * @returns {boolean} Whether any sequence matches.
   */
  showCount(status, list, empty) {
    status.textContent = `${this.total.toLocaleString("en-US")} sequences`;
    if (this.total > 0) return true;
    // The kinds are plurals: "texts" names a "text sequence".
    const one = this.#kind.slice(0, -1);
    list.replaceChildren(h("p.empty", {
      text: this.#q ? `No ${one} sequence matches this query.` : empty,
    }));
    return false;
  }
}

/**
 * The head of a sequence's card or row: its run (a link, when `showRun`),
 * its name and its context, then `extra`.
 * @param {SequenceMatch} match
 * @param {boolean} showRun
 * @param {...Child} extra
 * @returns {HTMLElement}
 */
export function sequenceHead({ run, sequence }, showRun, ...extra) {
  return h(
    "div.row-head",
    {},
    showRun ? link(`run/${run.hash}`, run.name || run.hash.slice(0, 8)) : null,
    h("span.seq-name", { text: sequence.name }),
    h("span.muted", { text: fmtContext(sequence.context) }),
    ...extra,
  );
}

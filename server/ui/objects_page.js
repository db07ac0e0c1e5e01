/// <reference lib="dom" />
// @ts-check
// The frame the images, distributions and texts explorers share: a query
// box checked as it is typed, the query kept in the address (?q=), and a
// view of the matching sequences that the page module makes. The run page
// makes the same views for one run, without this frame.

import { checkQueryAnswer } from "./api.js";
import { errorText, h, toast } from "./dom.js";
import { checkAsYouType, showQueryProblem } from "./query_problem.js";

/** @import { SequenceKind } from "./objects_api.js" */

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

/// <reference lib="dom" />
// @ts-check
// A query's problem under its box: the message and, for a syntax error, the
// query with a caret at the column; or, for a well-formed query, warnings
// about params it names that no run has (a typo matches nothing). Checked
// as the query is typed.

import { ApiError, checkQueryAnswer } from "./api.js";
import { errorText, h, toast } from "./dom.js";
import { debounce } from "./tasks.js";

/** @import { QueryProblem, QueryWarning } from "./api_types.js" */

/**
 * Shows `message` in `box`, with `source` and a caret under `column` when
 * there is one; `box.dataset.column` holds the column ("" for none).
 * @param {HTMLElement} box
 * @param {Pick<QueryProblem, "message" | "column">} problem
 * @param {string} source  The text the column points into.
 * @param {string} [prefix]  Put before the message, e.g. "sort: ".
 */
export function showQueryProblem(box, problem, source, prefix = "") {
  box.replaceChildren(h("div.msg", { text: `${prefix}${problem.message}` }));
  if (problem.column) {
    box.append(
      h(
        "pre.caret",
        {},
        source,
        "\n",
        " ".repeat(Math.max(0, problem.column - 1)) + "^",
      ),
    );
  }
  box.dataset.column = String(problem.column ?? "");
  box.hidden = false;
}

/**
 * Shows `warnings` just below `box` (in a box of their own, made on first
 * use, so that `box` keeps meaning "the query is wrong"); hides them when
 * there are none.
 * @param {HTMLElement} box  The query's problem box, in the page.
 * @param {QueryWarning[]} warnings
 */
export function showQueryWarnings(box, warnings) {
  let out = box.nextElementSibling;
  if (
    !(out instanceof HTMLElement) || !out.classList.contains("query-warning")
  ) {
    if (!box.parentElement) return;
    out = h("div.query-warning", { hidden: true, role: "status" });
    box.after(out);
  }
  const shown = /** @type {HTMLElement} */ (out);
  shown.replaceChildren(
    ...warnings.map((w) =>
      h("div.msg", {
        text: `${w.field === "sort" ? "sort: " : ""}${w.message}`,
      })
    ),
  );
  shown.hidden = warnings.length === 0;
}

/** Pause in typing after which the query is checked, in milliseconds. */
const CHECK_AFTER_MS = 300;

/**
 * Checks the query in `input` as it is typed, once typing pauses, with
 * GET /ui/check (which parses without searching), and shows what is wrong
 * in `box`, or hides `box` once the query is fine and shows its warnings
 * below it. A newer check cancels an older one; an error answer says
 * nothing (the search itself will).
 * @param {HTMLInputElement} input
 * @param {HTMLElement} box
 * @param {"runs" | "metrics" | "images" | "distributions" | "texts"} kind  The query's kind, as /ui/check takes it.
 */
export function checkAsYouType(input, box, kind) {
  /** @type {AbortController | null} */
  let pending = null;
  const check = debounce(async () => {
    pending?.abort();
    const controller = new AbortController();
    pending = controller;
    const q = input.value;
    try {
      const answer = await checkQueryAnswer(q, {
        kind,
        signal: controller.signal,
      });
      if (controller.signal.aborted || input.value !== q) return;
      if (answer.ok) {
        box.hidden = true;
        showQueryWarnings(box, answer.warnings ?? []);
      } else {
        showQueryProblem(box, answer, q);
        showQueryWarnings(box, []);
      }
    } catch (error) {
      // A newer check, or an answer that is not one: the search says more.
      if (controller.signal.aborted || error instanceof ApiError) return;
      toast(errorText(error), "error");
    }
  }, CHECK_AFTER_MS);
  input.addEventListener("input", () => check());
}

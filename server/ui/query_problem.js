/// <reference lib="dom" />
// @ts-check
// A query's problem under its box: the message and, for a syntax error, the
// query with a caret at the column; checked as the query is typed.

import { ApiError, checkQuery } from "./api.js";
import { errorText, h, toast } from "./dom.js";
import { debounce } from "./tasks.js";

/** @import { QueryProblem } from "./api_types.js" */

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

/** Pause in typing after which the query is checked, in milliseconds. */
const CHECK_AFTER_MS = 300;

/**
 * Checks the query in `input` as it is typed, once typing pauses, with
 * GET /ui/check (which parses without searching), and shows what is wrong
 * in `box`, or hides `box` once the query is fine. A newer check cancels
 * an older one; an error answer says nothing (the search itself will).
 * @param {HTMLInputElement} input
 * @param {HTMLElement} box
 * @param {"runs" | "metrics"} kind  The query's kind, as /ui/check takes it.
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
      const problem = await checkQuery(q, { kind, signal: controller.signal });
      if (controller.signal.aborted || input.value !== q) return;
      if (problem === null) box.hidden = true;
      else showQueryProblem(box, problem, q);
    } catch (error) {
      // A newer check, or an answer that is not one: the search says more.
      if (controller.signal.aborted || error instanceof ApiError) return;
      toast(errorText(error), "error");
    }
  }, CHECK_AFTER_MS);
  input.addEventListener("input", () => check());
}

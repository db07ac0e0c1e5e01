/// <reference lib="dom" />
// @ts-check
// A query's problem under its box: the message and, for a syntax error, the
// query with a caret at the column.

import { h } from "./dom.js";

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

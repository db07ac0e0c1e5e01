/// <reference lib="dom" />
// @ts-check
// The run page's overview: attributes, params as a tree, and a table of
// its series.

import { fill, h } from "./dom.js";
import {
  fmtContext,
  fmtDuration,
  fmtNum,
  fmtTime,
  isCommand,
  num,
  shellWord,
} from "./format.js";
import { fmtIn, unitOf } from "./units.js";

/** @import { ParamMap, ParamValue, Run } from "./api_types.js" */

/** Tree levels open at first. */
const OPEN_DEPTH = 2;

/**
 * Fills `content` with the overview of `run`.
 * @param {HTMLElement} content
 * @param {Run} run
 */
export function renderOverview(content, run) {
  /** @type {[string, unknown][]} */
  const attributes = [
    ["hash", run.hash],
    ["name", run.name],
    ["experiment", run.experiment],
    ["status", run.status],
    ["live", run.live ? "yes: its writer is running" : "no"],
    ["indexed", run.indexed ? "yes" : "no: read from its own files"],
    ["signal", run.signal],
    ["exit code", run.exit_code],
    ["created", fmtTime(run.created_at)],
    ["ended", fmtTime(run.ended_at)],
    ["duration", fmtDuration(run.duration)],
    ["archived", run.archived ? "yes" : "no"],
    ["data version", run.data_version],
    ["description", run.description],
  ];
  const rows = attributes.filter(([, v]) =>
    v !== null && v !== undefined && v !== ""
  );
  fill(
    content,
    h(
      "div.grid2",
      {},
      h(
        "div.panel.attributes",
        {},
        h("h3", { text: "Attributes" }),
        h(
          "table.kv",
          {},
          h(
            "tbody",
            {},
            rows.map(([k, v]) =>
              h("tr", {}, h("th", { text: k }), h("td", { text: String(v) }))
            ),
          ),
        ),
      ),
      h(
        "div.panel.params",
        {},
        h("h3", { text: "Params" }),
        Object.keys(run.params).length === 0
          ? h("p.empty", { text: "No params." })
          : h("div.tree", {}, tree(run.params, [])),
      ),
    ),
    run.metrics.length ? seriesTable(run) : null,
  );
}

/**
 * The run's series with their summaries.
 * @param {Run} run
 * @returns {HTMLElement}
 */
function seriesTable(run) {
  return h(
    "div.panel",
    { style: { marginTop: "16px" } },
    h("h3", { text: "Series" }),
    h(
      "table.list",
      {},
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["name", "context", "points", "last step", "last", "min", "max"]
            .map((t, i) => h(i > 1 ? "th.num" : "th", { text: t })),
        ),
      ),
      h(
        "tbody",
        {},
        run.metrics.map((m) => {
          // System metrics read with their units, as on the System tab.
          const unit = m.context.system === true ? unitOf(m.name) : null;
          return h(
            "tr",
            {},
            h("td", { text: m.name }),
            h("td", { text: fmtContext(m.context) }),
            h("td.num", { text: fmtNum(m.count) }),
            h("td.num", { text: fmtNum(m.last_step) }),
            h("td.num", { text: fmtIn(m.last, unit) }),
            h("td.num", { text: fmtIn(m.min, unit) }),
            h("td.num", { text: fmtIn(m.max, unit) }),
          );
        }),
      ),
    ),
  );
}

/**
 * Nested params as folding <details>, open down to {@link OPEN_DEPTH}.
 * @param {ParamMap} value
 * @param {string[]} path  Where `value` is.
 * @returns {HTMLElement[]}
 */
function tree(value, path) {
  return Object.entries(value).map(([key, v]) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      return h(
        "details",
        { open: path.length < OPEN_DEPTH },
        h(
          "summary",
          {},
          h("span.key", { text: key }),
          h("span.muted", { text: ` {${Object.keys(v).length}}` }),
        ),
        tree(v, [...path, key]),
      );
    }
    return h(
      "div.leaf",
      {},
      h("span.key", { text: key }),
      ": ",
      isCommand([...path, key], v) ? commandValue(v) : leafValue(v),
    );
  });
}

/**
 * A command line as a shell takes it, wrapping between its arguments only
 * (one longer than the line breaks alone).
 * @param {string[]} args
 * @returns {HTMLElement}
 */
function commandValue(args) {
  return h(
    "span.val-command",
    {},
    args.flatMap((arg, i) => [
      i > 0 ? " " : "",
      h("span.arg", { text: shellWord(arg) }),
    ]),
  );
}

/**
 * A param value in Python's spelling, styled by its type.
 * @param {ParamValue} v
 * @returns {HTMLElement}
 */
function leafValue(v) {
  if (v === null) return h("span.val-null", { text: "None" });
  if (typeof v === "boolean") {
    return h("span.val-bool", { text: v ? "True" : "False" });
  }
  if (num(v) !== null) return h("span.val-number", { text: String(v) });
  if (typeof v === "string") {
    return h("span.val-string", { text: JSON.stringify(v) });
  }
  return h("span.val-list", { text: JSON.stringify(v) });
}

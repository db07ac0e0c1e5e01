// @ts-check
// The metrics explorer's state, and its text forms: the address that
// restores it, the series query it searches with, and the status line.
// Pure: no DOM, so `deno test` imports it.

/** @import { XKind } from "./chart.js" */
/** @import { Catalog } from "./metrics_catalog.js" */
/** @import { Line } from "./metrics_lines.js" */

/** The explorer draws at most this many lines (the first ones found). */
export const MAX_LINES = 1000;

/** @typedef {"" | "minmax" | "std"} AggKind */

const X_KINDS = /** @type {const} */ (["step", "epoch", "time"]);
const AGG_KINDS = /** @type {const} */ (["", "minmax", "std"]);

/**
 * What the address holds: enough to show the same chart again.
 * @typedef {object} ExplorerSettings
 * @property {string} metric  A series name; "" before one is chosen.
 * @property {string | null} context  A canonical context key from the
 *   address, until the context list is first filled; "" for any context,
 *   null when the address gives none.
 * @property {string} runQ  The run filter, a run query.
 * @property {string[]} hashes  Runs picked for comparison; [] for all.
 * @property {string} group  "" (a colour per run), "attr:experiment",
 *   "attr:status", "attr:context", or "param:<dotted path>".
 * @property {AggKind} agg  "" draws every line; else a mean per group and a band.
 * @property {number} smooth  EMA weight, 0 for none.
 * @property {XKind} x
 * @property {boolean} log  A logarithmic y axis.
 */

/**
 * Everything the explorer keeps between redraws.
 * @typedef {object} ExplorerStateExtra
 * @property {Catalog} catalog  What the sampled runs hold.
 * @property {Line[]} lines  Every line found so far.
 * @property {number} total  Matching series, found or not.
 * @property {number} failed  Series whose points could not be read.
 * @property {number} gen  Bumped by every search: late answers of older ones are dropped.
 * @property {boolean} loading
 * @property {Set<string>} hidden  Keys of the groups (or lines) hidden from the legend.
 * @property {[number, number] | null} zoom  The zoomed x range.
 * @property {number} zoomGen  Bumped by every zoom, like `gen`.
 * @property {boolean} zoomLoading
 * @property {number} fetchMs  How long the last full search took.
 * @property {boolean} firstChart  Whether a line has been drawn yet.
 * @property {string | null} loadedQuery  The query that found `lines`.
 */
/** @typedef {ExplorerSettings & ExplorerStateExtra} ExplorerState */

/**
 * The settings in an address's query string (`location.search`); what is
 * missing or malformed gets its default.
 * @param {string} search
 * @returns {ExplorerSettings}
 */
export function readSettings(search) {
  const params = new URLSearchParams(search);
  const x = params.get("x");
  const agg = params.get("agg");
  return {
    metric: params.get("metric") ?? "",
    context: params.get("context"),
    runQ: params.get("q") ?? "",
    hashes: (params.get("runs") ?? "").split(",").filter((hash) =>
      /^[0-9a-f]{8,64}$/.test(hash)
    ),
    group: params.get("group") ?? "",
    agg: AGG_KINDS.find((kind) => kind === agg) ?? "",
    smooth: Number(params.get("smooth") ?? 0) || 0,
    x: X_KINDS.find((kind) => kind === x) ?? "step",
    log: params.get("log") === "1",
  };
}

/**
 * The query string (without "?") that {@link readSettings} reads back;
 * defaults are left out. `context` is the context chosen now.
 * @param {ExplorerSettings} settings
 * @param {string} context
 * @returns {string}
 */
export function settingsSearch(settings, context) {
  const search = new URLSearchParams();
  /** @param {string} key @param {string | number} value */
  const put = (key, value) => {
    if (value !== "") search.set(key, String(value));
  };
  put("metric", settings.metric);
  put("context", context);
  put("q", settings.runQ);
  put("runs", settings.hashes.join(","));
  put("group", settings.group);
  put("agg", settings.agg);
  if (settings.smooth > 0) put("smooth", settings.smooth);
  if (settings.x !== "step") put("x", settings.x);
  if (settings.log) put("log", "1");
  return search.toString();
}

/**
 * The series query for the chosen metric, context, runs and run filter.
 * @param {Pick<ExplorerSettings, "metric" | "hashes" | "runQ">} settings
 * @param {string} context  A canonical context key; "" for any.
 * @returns {string}
 */
export function seriesQuery(settings, context) {
  const parts = [`metric.name == ${JSON.stringify(settings.metric)}`];
  if (context) parts.push(`metric.context == ${context}`);
  if (settings.hashes.length) {
    parts.push(`run.hash in ${JSON.stringify(settings.hashes)}`);
  }
  if (settings.runQ.trim()) parts.push(`(${settings.runQ})`);
  return parts.join(" and ");
}

/**
 * The line under the controls: series found, lines drawn, what is loading,
 * what was left out.
 * @param {ExplorerState} state
 * @param {number} drawn  Lines on the chart now.
 * @returns {string}
 */
export function statusText(state, drawn) {
  const parts = [];
  if (state.metric) {
    parts.push(
      `${state.lines.length.toLocaleString("en-US")} of ${
        state.total.toLocaleString("en-US")
      } series`,
    );
    if (drawn !== state.lines.length) parts.push(`${drawn} lines drawn`);
  }
  if (state.loading) parts.push("loading…");
  if (state.total > MAX_LINES) {
    parts.push(
      `showing the first ${MAX_LINES}: narrow the run filter to see others`,
    );
  }
  if (state.failed) parts.push(`${state.failed} could not be read`);
  if (state.zoom) {
    parts.push(
      state.zoomLoading
        ? "reading the zoomed range…"
        : "zoomed: double-click to reset",
    );
  }
  return parts.join(" · ");
}

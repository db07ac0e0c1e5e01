// @ts-check
// The metrics explorer's state, and its text forms: the address that
// restores it, the series query it searches with, and the status line.
// Pure: no DOM, so `deno test` imports it.

/** @import { XKind } from "./series_draw.js" */
/** @import { Catalog } from "./metrics_catalog.js" */
/** @import { Line } from "./metrics_lines.js" */

/**
 * The explorer draws at most this many lines for each metric charted (the
 * first ones found): see {@link lineLimit}.
 */
export const MAX_LINES = 1000;

/**
 * How many lines the explorer draws at most: {@link MAX_LINES} for each
 * metric charted.
 * @param {Pick<ExplorerSettings, "more">} settings
 * @returns {number}
 */
export function lineLimit(settings) {
  return MAX_LINES * (1 + settings.more.length);
}

/** @typedef {"" | "minmax" | "std" | "median"} AggKind */

const X_KINDS = /** @type {const} */ (["step", "epoch", "time"]);
const AGG_KINDS = /** @type {const} */ (["", "minmax", "std", "median"]);
/** What the fields grouped by look like: an attribute, or a param path. */
const FIELD = /^(attr:(experiment|status|context)|param:.+)$/;

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
 * @property {string} dash  A second field, as `group`: lines of different
 *   values of it are drawn with different dash patterns; "" for none.
 * @property {string} facet  A third field, as `group`: a chart for each
 *   value of it (for each metric); "" for one chart per metric.
 * @property {AggKind} agg  "" draws every line; else a mean per group (per
 *   colour and dash) and a band.
 * @property {number} smooth  EMA weight, 0 for none.
 * @property {XKind} x
 * @property {boolean} log  A logarithmic y axis.
 * @property {boolean} robust  The y range leaves out outliers: it spans
 *   the 1st to 99th percentile of the values drawn.
 * @property {number | null} yMin  The y axis' lower bound set by hand.
 * @property {number | null} yMax  Its upper bound set by hand.
 * @property {Panel[]} more  Metrics charted below the first, each on a
 *   chart of its own sharing the x range and the cursor.
 */

/**
 * A metric charted besides the first.
 * @typedef {object} Panel
 * @property {string} metric
 * @property {string} context  A canonical context key; "" for any.
 */

/**
 * Everything the explorer keeps between redraws.
 * @typedef {object} ExplorerStateExtra
 * @property {Catalog} catalog  What the sampled runs hold.
 * @property {Line[]} lines  Every line found so far.
 * @property {number} total  Matching series, found or not.
 * @property {number} failed  Series whose points could not be read.
 * @property {number} gen  Bumped by every search: late answers of older ones are dropped.
 * @property {boolean} loading  Index previews are being read.
 * @property {boolean} refining  Lines are being read at pixel resolution.
 * @property {Set<string>} hidden  Keys of the groups (or lines) hidden from the legend.
 * @property {[number, number] | null} zoom  The zoomed x range.
 * @property {number} fetchMs  How long the last search took.
 * @property {boolean} firstChart  Whether a line has been drawn yet.
 * @property {boolean} allFull  Whether every line of this search has been
 *   drawn at pixel resolution yet.
 * @property {string | null} loadedQuery  The query that found `lines`.
 * @property {boolean} invalid  The run filter is not a valid query.
 * @property {string | null} why  Why no series matches, when known.
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
    dash: _field(params.get("dash")),
    facet: _field(params.get("facet")),
    agg: AGG_KINDS.find((kind) => kind === agg) ?? "",
    smooth: Number(params.get("smooth") ?? 0) || 0,
    x: X_KINDS.find((kind) => kind === x) ?? "step",
    log: params.get("log") === "1",
    robust: params.get("robust") === "1",
    yMin: _number(params.get("ymin")),
    yMax: _number(params.get("ymax")),
    more: _panels(params),
  };
}

/**
 * The metrics besides the first: `also` names them, and the `alsoctx` of
 * the same rank is each one's context ("" or missing for any).
 * @param {URLSearchParams} params
 * @returns {Panel[]}
 */
function _panels(params) {
  const contexts = params.getAll("alsoctx");
  return params.getAll("also").flatMap((metric, i) =>
    metric.trim() ? [{ metric: metric.trim(), context: contexts[i] ?? "" }] : []
  );
}

/**
 * A field to group by from the address: an attribute or a param path;
 * "" for anything else.
 * @param {string | null} text
 * @returns {string}
 */
function _field(text) {
  return text !== null && FIELD.test(text) ? text : "";
}

/**
 * A finite number from the address, or null.
 * @param {string | null} text
 * @returns {number | null}
 */
function _number(text) {
  if (text === null || text.trim() === "") return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
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
  put("dash", settings.dash);
  put("facet", settings.facet);
  put("agg", settings.agg);
  if (settings.smooth > 0) put("smooth", settings.smooth);
  if (settings.x !== "step") put("x", settings.x);
  if (settings.log) put("log", "1");
  if (settings.robust) put("robust", "1");
  if (settings.yMin !== null) put("ymin", settings.yMin);
  if (settings.yMax !== null) put("ymax", settings.yMax);
  for (const panel of settings.more) {
    search.append("also", panel.metric);
    search.append("alsoctx", panel.context);
  }
  return search.toString();
}

/**
 * The series query for the chosen metrics and contexts, runs and run
 * filter.
 * @param {Pick<ExplorerSettings, "metric" | "hashes" | "runQ"> & { more?: Panel[] }} settings
 * @param {string} context  The first metric's canonical context key; "" for any.
 * @returns {string}
 */
export function seriesQuery(settings, context) {
  const panels = [
    { metric: settings.metric, context },
    ...settings.more ?? [],
  ];
  const matches = panels.map(({ metric, context }) =>
    `metric.name == ${JSON.stringify(metric)}${
      context ? ` and metric.context == ${context}` : ""
    }`
  );
  const parts = matches.length === 1
    ? matches
    : [`(${matches.map((m) => `(${m})`).join(" or ")})`];
  if (settings.hashes.length) {
    parts.push(`run.hash in ${JSON.stringify(settings.hashes)}`);
  }
  if (settings.runQ.trim()) parts.push(`(${settings.runQ})`);
  return parts.join(" and ");
}

/**
 * What the chart shows, for the status line.
 * @typedef {object} Shown
 * @property {number} drawn  Lines (or means) on the chart.
 * @property {number} coarse  Of them, drawn from buckets too wide: a preview.
 * @property {number} clipped  Values ≤ 0 a log scale cannot show.
 * @property {number} [uncharted]  Values of the facet field left without a
 *   chart of their own; 0 by default.
 */

/**
 * The line under the controls: series found, lines drawn, what is loading
 * or refining, what was left out, and why nothing matches.
 * @param {ExplorerState} state
 * @param {Shown} shown
 * @returns {string}
 */
export function statusText(state, shown) {
  if (!state.metric) return "Choose a metric.";
  if (state.invalid) {
    return "No series match: the run filter is not a valid query.";
  }
  if (!state.loading && state.total === 0) {
    return `No series match${state.why ? `: ${state.why}` : "."}`;
  }
  const parts = [
    `${state.lines.length.toLocaleString("en-US")} of ${
      state.total.toLocaleString("en-US")
    } series`,
  ];
  if (shown.drawn !== state.lines.length) {
    parts.push(`${shown.drawn} lines drawn`);
  }
  if (state.loading) parts.push("loading…");
  const limit = lineLimit(state);
  if (state.total > limit) {
    parts.push(
      `showing the first ${
        limit.toLocaleString("en-US")
      }: narrow the run filter to see others`,
    );
  }
  if (shown.uncharted) {
    parts.push(
      `${shown.uncharted} more ${
        shown.uncharted === 1 ? "value" : "values"
      } of the facet field not charted: narrow the run filter to see them`,
    );
  }
  if (state.failed) parts.push(`${state.failed} could not be read`);
  if (shown.clipped > 0) {
    parts.push(
      `log scale: ${
        shown.clipped.toLocaleString("en-US")
      } values ≤ 0 not drawn`,
    );
  }
  if (state.zoom) {
    parts.push(
      state.refining
        ? "zoomed: refining…"
        : `zoomed${shown.coarse ? " (preview)" : ""}: double-click to reset`,
    );
  } else if (shown.coarse > 0) {
    parts.push(state.refining ? "preview — refining…" : "preview");
  }
  return parts.join(" · ");
}

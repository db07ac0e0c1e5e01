// @ts-check
// The runs page's state and arithmetic: its address, the query it sends,
// the sort a header click gives, the columns shown by default, and which
// rows and pages are on screen, wanted next, or dropped.
// Pure: no DOM, so `deno test` imports it.

import { canonical, leaves } from "./params.js";

/** @import { Context, Run } from "./api_types.js" */

/** Row height in pixels (as in style.css). */
export const ROW = 32;
/** Rows per request in the server's cheap creation order (newest first). */
export const PAGE_FAST = 200;
/** Rows per request for any other sort, which costs the server a full sort. */
export const PAGE_SORTED = 1000;
/** Rows of the first request, which gives the total (and every run, in a small repository). */
export const PROBE = 50;
/** Rows rendered beyond each edge of the screen. */
export const OVERSCAN = 10;
/** Pages kept in memory; those farthest from the screen go first. */
export const KEEP_PAGES = 12;

/**
 * What the address holds.
 * @typedef {object} RunsSettings
 * @property {string} q  The run query as typed.
 * @property {string} sort  A run expression, `-` first for descending; "" for newest first.
 * @property {boolean} hideArchived
 */

/**
 * A series summary shown as a column.
 * @typedef {object} MetricColumn
 * @property {string} name
 * @property {Context} context
 * @property {"last" | "min" | "max"} agg
 */

/**
 * The param and metric columns chosen, after the fixed ones.
 * @typedef {object} ColumnChoice
 * @property {string[][]} params  Param paths.
 * @property {MetricColumn[]} metrics
 */

/**
 * Params and series seen in the rows fetched so far, with how many runs
 * had each: for the column chooser and the default columns.
 * @typedef {object} Known
 * @property {Map<string, { path: string[], n: number }>} params
 * @property {Map<string, { name: string, context: Context, n: number }>} metrics
 */

/**
 * The settings in an address's query string (`location.search`).
 * @param {string} search
 * @returns {RunsSettings}
 */
export function readSettings(search) {
  const params = new URLSearchParams(search);
  return {
    q: params.get("q") ?? "",
    sort: params.get("sort") ?? "",
    hideArchived: params.get("archived") === "hide",
  };
}

/**
 * The query string (with "?", or "" for none) that {@link readSettings} reads back.
 * @param {RunsSettings} settings
 * @returns {string}
 */
export function settingsSearch(settings) {
  const search = new URLSearchParams();
  if (settings.q) search.set("q", settings.q);
  if (settings.sort) search.set("sort", settings.sort);
  if (settings.hideArchived) search.set("archived", "hide");
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * The run query to send: the one typed, without archived runs when hidden.
 * @param {RunsSettings} settings
 * @returns {string}
 */
export function effectiveQuery(settings) {
  const q = settings.q.trim();
  if (!settings.hideArchived) return q;
  return q ? `(${q}) and not run.archived` : "not run.archived";
}

/**
 * Rows per request for a sort ("" for newest first).
 * @param {string} sort
 * @returns {number}
 */
export function pageSize(sort) {
  return sort === "" ? PAGE_FAST : PAGE_SORTED;
}

/**
 * The sort after a click on a column's header: ascending, descending, then
 * back to newest first. The creation column toggles between newest and
 * oldest first.
 * @param {string} sort  The current sort.
 * @param {{ key: string, sort?: string }} column
 * @returns {string}
 */
export function nextSort(sort, column) {
  const by = column.sort ?? "";
  if (column.key === "created") return sort === "" ? by : "";
  if (sort === by) return `-${by}`;
  if (sort === `-${by}`) return "";
  return by;
}

/**
 * The arrow in a column's header: ▲ ascending, ▼ descending, "" unsorted.
 * Newest first shows as ▼ on the creation column.
 * @param {string} sort
 * @param {{ key: string, sort?: string }} column
 * @returns {string}
 */
export function sortArrow(sort, column) {
  if (column.key === "created" && sort === "") return "▼";
  if (!column.sort) return "";
  if (sort === column.sort) return "▲";
  if (sort === `-${column.sort}`) return "▼";
  return "";
}

/** @returns {Known} */
export function emptyKnown() {
  return { params: new Map(), metrics: new Map() };
}

/**
 * Counts the params and series of `runs` into `known`; system metrics are
 * left out.
 * @param {Known} known
 * @param {readonly Run[]} runs
 */
export function learn(known, runs) {
  for (const run of runs) {
    for (const [path] of leaves(run.params)) {
      const key = path.join("\u0000");
      known.params.set(key, {
        path,
        n: (known.params.get(key)?.n ?? 0) + 1,
      });
    }
    for (const m of run.metrics) {
      if (m.context?.system === true) continue;
      const key = `${m.name}\u0000${canonical(m.context)}`;
      known.metrics.set(key, {
        name: m.name,
        context: m.context,
        n: (known.metrics.get(key)?.n ?? 0) + 1,
      });
    }
  }
}

/**
 * The columns shown before any is chosen: the four most common params
 * (hyperparameters first, then the program's own, then the command `aim
 * run` ran; never the rest of what it records of the launch: folder,
 * host, pid…) and the last value of the two most common series.
 * @param {Known} known
 * @returns {ColumnChoice}
 */
export function defaultColumns(known) {
  /** @param {{ n: number }} a @param {{ n: number }} b */
  const byCount = (a, b) => b.n - a.n;
  /** @param {string[]} path */
  const rank = (path) =>
    path[0] === "hparams" ? 0 : path[0] !== "__aim" ? 1 : 2;
  const params = [...known.params.values()]
    .filter((p) =>
      p.path[0] !== "__aim" || p.path.join(".") === "__aim.command"
    )
    .sort((a, b) => rank(a.path) - rank(b.path) || byCount(a, b))
    .slice(0, 4).map((p) => p.path);
  /** @type {MetricColumn[]} */
  const metrics = [...known.metrics.values()].sort(byCount).slice(0, 2)
    .map((m) => ({ name: m.name, context: m.context, agg: "last" }));
  return { params, metrics };
}

/**
 * The rows to render, [first, last), for a viewport of `height` pixels
 * scrolled to `top`, with {@link OVERSCAN} rows each side.
 * @param {number} top
 * @param {number} height
 * @param {number} total  Rows in the table.
 * @returns {[number, number]}
 */
export function rowWindow(top, height, total) {
  return [
    Math.max(0, Math.floor(top / ROW) - OVERSCAN),
    Math.min(total, Math.ceil((top + height) / ROW) + OVERSCAN),
  ];
}

/**
 * The page to fetch ahead of rows [first, last) in the direction of the
 * scroll: half a page beyond the edge.
 * @param {number} first
 * @param {number} last
 * @param {number} size  Rows per page.
 * @param {boolean} down  Scrolling down (or not at all).
 * @returns {number}
 */
export function pageAhead(first, last, size, down) {
  return down
    ? Math.floor((last + size / 2) / size)
    : Math.floor(Math.max(0, first - size / 2) / size);
}

/**
 * The pages on screen, [first, last] inclusive (no overscan).
 * @param {number} top
 * @param {number} height
 * @param {number} total  Rows in the table.
 * @param {number} size  Rows per page.
 * @returns {[number, number]}
 */
export function pagesOnScreen(top, height, total, size) {
  return [
    Math.floor(Math.floor(top / ROW) / size),
    Math.floor(
      Math.min(Math.max(0, total - 1), Math.ceil((top + height) / ROW)) / size,
    ),
  ];
}

/**
 * The pages to drop so that at most {@link KEEP_PAGES} stay: those
 * farthest from page `current` first. Memory stays flat at any size.
 * @param {Iterable<number>} pages
 * @param {number} current
 * @returns {number[]}
 */
export function pagesToDrop(pages, current) {
  const all = [...pages];
  if (all.length <= KEEP_PAGES) return [];
  const far = all.sort((a, b) => Math.abs(b - current) - Math.abs(a - current));
  return far.slice(0, all.length - KEEP_PAGES);
}

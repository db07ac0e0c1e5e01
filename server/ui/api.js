/// <reference lib="dom" />
// @ts-check
// The JSON API, through relative URLs under the app's root, with the token
// cookie (same origin): a function per request the pages make. Errors
// become ApiError with the server's code, message and, for a query syntax
// error, column.

import { url } from "./urls.js";
import { decodeSeriesAnswer } from "./series_binary.js";

/**
 * @import {
 *   CheckAnswer, Context, ErrorBody, IndexAnswer, LogPage,
 *   Run, RunPage, SeriesPage, SeriesPoints, BinarySeriesPage,
 * } from "./api_types.js"
 */

/** An error answer of the API: `{"error": {"code", "message", "column"?}}`. */
export class ApiError extends Error {
  /**
   * @param {number} status  The HTTP status.
   * @param {ErrorBody | null} body  The answer, when it was JSON.
   */
  constructor(status, body) {
    super(body?.error?.message ?? `The server answered ${status}`);
    this.name = "ApiError";
    /** @type {number} */
    this.status = status;
    /** @type {string} */
    this.code = body?.error?.code ?? "http_" + status;
    /** @type {number | null} */
    this.column = body?.error?.column ?? null;
  }
}

/**
 * @typedef {object} CallOptions
 * @property {string} [method]  Default: POST with a body, else GET.
 * @property {unknown} [body]  Sent as JSON.
 * @property {AbortSignal} [signal]
 */

/**
 * Calls the API at `path` (e.g. "api/runs?q=…"); resolves to the parsed
 * JSON, or rejects with an {@link ApiError}.
 * @param {string} path
 * @param {CallOptions} [options]
 * @returns {Promise<unknown>}
 */
export async function api(path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: "application/json" };
  /** @type {RequestInit} */
  const init = {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    credentials: "same-origin",
    headers,
    signal: options.signal ?? null,
  };
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(url(path), init);
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  // The token this page signed in with is no longer the server's (a
  // restart with another, a rotation): loading the page again shows the
  // sign-in page.
  if (response.status === 401) location.reload();
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/**
 * A query string from an object, skipping undefined, null and empty values:
 * "?a=1&b=x", or "" when nothing is left.
 * @param {Record<string, unknown>} params
 * @returns {string}
 */
export function qs(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * @typedef {object} RunSearch
 * @property {string} [q]  A run query; "" for every run.
 * @property {string} [sort]  A run expression, `-` first for descending.
 * @property {number} [limit]
 * @property {number} [offset]
 * @property {AbortSignal} [signal]
 */

/**
 * GET /api/runs: a page of runs and the total.
 * @param {RunSearch} [search]
 * @returns {Promise<RunPage>}
 */
export async function searchRuns({ q = "", sort, limit, offset, signal } = {}) {
  const path = `api/runs${qs({ q, sort, limit, offset })}`;
  return /** @type {RunPage} */ (await api(path, { signal }));
}

/**
 * The newest runs first, cheaply: the server's fast order is by creation,
 * ascending, so the page is taken from the end and reversed. Give `total`
 * when known to save a request.
 * @param {{ q?: string, limit: number, offset?: number, total?: number, signal?: AbortSignal }} search
 * @returns {Promise<RunPage>}
 */
export async function newestRuns({ q = "", limit, offset = 0, total, signal }) {
  if (total === undefined) {
    total = (await searchRuns({ q, limit: 0, signal })).total;
  }
  const end = Math.max(0, total - offset);
  const start = Math.max(0, end - limit);
  if (end === 0) return { runs: [], total, unreadable: [] };
  const page = await searchRuns({
    q,
    limit: end - start,
    offset: start,
    signal,
  });
  page.runs.reverse();
  return page;
}

/**
 * Checks a query (and sort) without searching: whether it is well formed
 * and, when it is, warnings about params it names that no run has (a
 * typo). A bad query is an answer here rather than a failed request,
 * which the browser would log as an error.
 * @param {string} q
 * @param {{ kind?: "runs" | "metrics" | "images" | "distributions" | "texts", sort?: string, signal?: AbortSignal }} [options]
 * @returns {Promise<CheckAnswer>}
 */
export async function checkQueryAnswer(
  q,
  { kind = "runs", sort = "", signal } = {},
) {
  if (!q.trim() && !sort.trim()) return { ok: true, warnings: [] };
  return /** @type {CheckAnswer} */ (
    await api(`ui/check${qs({ q, kind, sort })}`, { signal })
  );
}

/**
 * GET /api/runs/:hash.
 * @param {string} hash
 * @returns {Promise<Run>}
 */
export async function getRun(hash) {
  return /** @type {Run} */ (await api(`api/runs/${hash}`));
}

/**
 * PATCH /api/runs/:hash: edits a run whose writer is gone; resolves to the run.
 * @param {string} hash
 * @param {{ name?: string, description?: string, tags?: string[], archived?: boolean }} patch
 * @returns {Promise<Run>}
 */
export async function patchRun(hash, patch) {
  return /** @type {Run} */ (
    await api(`api/runs/${hash}`, { method: "PATCH", body: patch })
  );
}

/**
 * DELETE /api/runs/:hash: removes a run whose writer is gone.
 * @param {string} hash
 * @returns {Promise<void>}
 */
export async function deleteRun(hash) {
  await api(`api/runs/${hash}`, { method: "DELETE" });
}

/**
 * GET /api/runs/:hash/series: one series read from its run, downsampled to
 * `points` buckets (extremes kept), optionally within a step range.
 * @param {string} hash
 * @param {string} name
 * @param {Context} context
 * @param {{ points?: number, from?: number, to?: number }} [range]
 * @param {{ signal?: AbortSignal }} [options]
 * @returns {Promise<SeriesPoints>}
 */
export async function readSeries(
  hash,
  name,
  context,
  range = {},
  options = {},
) {
  const query = qs({ name, context: JSON.stringify(context), ...range });
  return /** @type {SeriesPoints} */ (
    await api(`api/runs/${hash}/series${query}`, options)
  );
}

/**
 * @typedef {object} SeriesSearch
 * @property {string} q  A series query (`metric.name == "loss" and …`).
 * @property {number} [points]  Buckets per series (with `detail: "full"`);
 *   default 200.
 * @property {number} limit
 * @property {number} offset
 * @property {number} [from]  Lowest step (implies `detail: "full"`).
 * @property {number} [to]  Highest step (implies `detail: "full"`).
 * @property {"preview" | "full"} [detail]  `preview`: the index previews
 *   answer, no run file is opened; `full`: `points` buckets are read from
 *   each run. Default: `full` with a step range, else `preview`.
 * @property {("steps" | "values" | "epochs" | "times")[]} [columns]  Point
 *   columns to return; default all.
 */

/**
 * POST /api/series/search: a page of (run, series) matches with their points.
 * @param {SeriesSearch} search
 * @param {{ signal?: AbortSignal }} [options]
 * @returns {Promise<SeriesPage>}
 */
export async function searchSeries(search, { signal } = {}) {
  return /** @type {SeriesPage} */ (
    await api("api/series/search", { body: search, signal })
  );
}

/**
 * POST /api/series/search in its binary form: the same answer, with the
 * point arrays as Float64Arrays (NaN for an untracked epoch), for charts of
 * many lines at pixel resolution.
 * @param {SeriesSearch} search
 * @param {{ signal?: AbortSignal }} [options]
 * @returns {Promise<BinarySeriesPage>}
 */
export async function searchSeriesBinary(search, { signal } = {}) {
  const response = await fetch(url("api/series/search"), {
    method: "POST",
    credentials: "same-origin",
    headers: {
      accept: "application/vnd.aim.series, application/json",
      "content-type": "application/json",
    },
    body: JSON.stringify({ ...search, encoding: "binary" }),
    signal: signal ?? null,
  });
  if (!response.ok) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      // Not JSON: the status says enough.
    }
    throw new ApiError(response.status, body);
  }
  return decodeSeriesAnswer(await response.arrayBuffer());
}

/**
 * Which lines of a log to read: by position in time order (`offset`,
 * negative from the end), around a line (`before`, `after`: its `seq`),
 * or stored since a line (`since`); `contains` keeps the lines holding
 * that text (ASCII letters in either case).
 * @typedef {object} LogRead
 * @property {number} [offset]
 * @property {number} [limit]
 * @property {number} [before]
 * @property {number} [after]
 * @property {number} [since]
 * @property {string} [contains]
 */

/**
 * GET /api/runs/:hash/logs: a page of the log in time order.
 * @param {string} hash
 * @param {LogRead} page
 * @param {{ signal?: AbortSignal }} [options]
 * @returns {Promise<LogPage>}
 */
export async function readLogs(hash, page, options = {}) {
  return /** @type {LogPage} */ (
    await api(`api/runs/${hash}/logs${qs({ ...page })}`, options)
  );
}

/**
 * GET /api/index: the repository's counts and the indexer's state.
 * @returns {Promise<IndexAnswer>}
 */
export async function indexStatus() {
  return /** @type {IndexAnswer} */ (await api("api/index"));
}
